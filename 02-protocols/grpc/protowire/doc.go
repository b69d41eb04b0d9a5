// Package protowire reads and writes the Protocol Buffers wire format by
// hand: the encoding gRPC carries, for messages written as plain Go
// structs with their own MarshalAppend and Merge methods (no generated
// code, no reflection). It follows protobuf-encoding.md in
// ../../shared/rfc ("Encoding", protobuf.dev).
//
// A message is a sequence of records, each a tag and a value:
//
//	record := tag value
//	tag    := varint( field_number << 3 | wire_type )
//
//	wire type   value                         used for
//	0 VARINT    base-128 varint, 1-10 bytes   int32 int64 uint32 uint64
//	                                          sint32 sint64 (ZigZag) bool enum
//	1 I64       8 bytes little-endian         fixed64 sfixed64 double
//	2 LEN       varint length, then bytes     string bytes messages packed
//	3 SGROUP    nothing (group start)         deprecated groups
//	4 EGROUP    nothing (group end)
//	5 I32       4 bytes little-endian         fixed32 sfixed32 float
//
//	varint 150:   1001 0110  0000 0001   = 96 01
//	              ^ more     ^ last; 7-bit groups, low group first
//	int32 a = 150 (field 1):       08 96 01
//	string b = "testing" (field 2): 12 07 74 65 73 74 69 6e 67
//	Test1 c = {a: 150} (field 3):   1a 03 08 96 01
//	repeated int32 e = [1,2,3] (field 5, packed): 2a 03 01 02 03
//
// Writing (append.go): one Append function per field type appends a whole
// record; AppendMessage reserves one length byte and moves the body up
// when the length needs more, so a message is written in one pass.
// Reading (reader.go): a Reader walks the records, checking every length
// against what is left before it slices; a message's Merge switches on
// each record's tag. Parsers must accept, and this one does:
//
//   - fields in any order, and a repeated scalar packed or not, even both
//     for one field (section "Repeated Elements");
//   - the same non-repeated field twice: the last value wins, embedded
//     messages merge (section "Last One Wins");
//   - fields they do not know: skipped, kept byte for byte, and written
//     back (AppendUnknown), groups included, nested at most MaxGroupDepth;
//   - a known field number with an unexpected wire type: treated as
//     unknown, as protobuf's own parsers do.
//
// It rejects with an error, never a panic: a truncated record, a varint
// longer than ten bytes or past 64 bits, field number 0 or above 2^29-1,
// wire types 6 and 7, an unmatched group end, a packed field holding a
// partial value, and a proto3 string that is not UTF-8.
//
// Left out at teaching scale: maps (a repeated message of key and value,
// which a message can write with AppendMessage), oneofs (fields like any
// other on the wire), proto2 defaults and required fields, extensions,
// the 2 GiB message limit (gRPC's message size limit comes first), and
// deterministic output for maps. Groups are skipped, never produced.
package protowire
