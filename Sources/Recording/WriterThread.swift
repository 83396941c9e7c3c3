import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// A serial queue that runs writes on their own thread, at most `depth` behind
/// the caller, and keeps the first failure for `drain` (or the next `submit`) to throw.
final class WriterThread: @unchecked Sendable {
    private let queue = DispatchQueue(label: "flowdb.archive-writer")
    private let slots: DispatchSemaphore

    init(depth: Int = 2) {
        slots = DispatchSemaphore(value: depth)
        pthread_mutex_init(&mutex, nil)
    }
    private var mutex = pthread_mutex_t()
    private var failure: Error?      // guarded by mutex

    deinit { pthread_mutex_destroy(&mutex) }

    private func firstFailure() -> Error? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return failure
    }

    func submit(_ work: @escaping () throws -> Void) throws {
        if let failure = firstFailure() { throw failure }
        slots.wait()
        let box = UncheckedBox(work)
        queue.async { [self] in
            defer { slots.signal() }
            guard firstFailure() == nil else { return }
            do {
                try box.value()
            } catch {
                pthread_mutex_lock(&mutex)
                if failure == nil { failure = error }
                pthread_mutex_unlock(&mutex)
            }
        }
    }

    func drain() throws {
        queue.sync {}
        if let failure = firstFailure() { throw failure }
    }

    /// Runs `work` on the writer thread after everything submitted, even after a failure.
    func runAfterAll(_ work: () -> Void) {
        queue.sync(execute: work)
    }
}

/// Hands a value to the writer thread; the caller no longer touches it.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
