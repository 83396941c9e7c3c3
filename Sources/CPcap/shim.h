#ifndef FLOWDB_CPCAP_SHIM_H
#define FLOWDB_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
