/// The pages and their assets, embedded in the binary (no CDN, no file read at run time).
enum Site {
    static let files: [String: ([UInt8], String)] = [
        "index.html": (PackageResources.index_html, "text/html; charset=utf-8"),
        "flow.html": (PackageResources.flow_html, "text/html; charset=utf-8"),
        "common.js": (PackageResources.common_js, "text/javascript; charset=utf-8"),
        "list.js": (PackageResources.list_js, "text/javascript; charset=utf-8"),
        "flow.js": (PackageResources.flow_js, "text/javascript; charset=utf-8"),
        "style.css": (PackageResources.style_css, "text/css; charset=utf-8"),
    ]
}
