// Package layers builds and parses the three headers under an HTTP
// request on an Ethernet link: Ethernet II, IPv4 and TCP, with their
// checksums, and prints a frame as an annotated hex dump. The osi demo
// builds a frame by hand with it and decodes the frame the kernel really
// sent with the same code.
//
// Ethernet II (IEEE 802.3 with an EtherType, RFC 894), 14 bytes:
//
//	+-------------------+-------------------+-----------+------------
//	| destination (6)   | source (6)        | type (2)  | payload ...
//	+-------------------+-------------------+-----------+------------
//
// The 4-byte frame check sequence after the payload is added and removed
// by the network card; a packet socket never sees it (and a veth has
// none).
//
// IPv4, RFC 791 section 3.1, 20 bytes plus options:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	|         Identification        |Flags|      Fragment Offset    |
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	|                       Source Address                          |
//	|                    Destination Address                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// TCP, RFC 9293 section 3.1, 20 bytes plus options:
//
//	|          Source Port          |       Destination Port        |
//	|                        Sequence Number                        |
//	|                    Acknowledgment Number                      |
//	|  Data |       |C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//	|           Checksum            |         Urgent Pointer        |
//
// Checksums are the Internet checksum of RFC 1071: the ones' complement of
// the ones' complement sum of the 16-bit words. IPv4's covers its header;
// TCP's covers a 12-byte pseudo-header (source and destination address,
// zero, protocol, TCP length; RFC 9293 section 3.1, figure 2), the TCP
// header and the data.
//
// Parsers bound every length by the bytes they were given and by the
// header's own length fields, and return errors, never panic. Left out:
// VLAN tags (802.1Q), IPv6, IPv4 options beyond carrying their bytes,
// decoding of TCP options beyond carrying their bytes, and reassembly of
// fragments.
package layers
