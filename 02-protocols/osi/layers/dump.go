package layers

import (
	"fmt"
	"io"
	"strings"
)

// Field is a run of a frame's bytes with its name and meaning.
type Field struct {
	Off, Len int // in the frame
	Name     string
	Value    string
}

// Section is one header (or the data) of a frame, as Fields.
type Section struct {
	Title  string
	Fields []Field
}

var etherTypes = map[uint16]string{EtherTypeIPv4: "IPv4", EtherTypeARP: "ARP",
	EtherTypeIPv6: "IPv6"}

// Sections describes every field of a frame built or decoded from f, for
// Dump. Offsets count from the start of the frame.
func (f *Frame) Sections() []Section {
	e, ip, t := &f.Eth, &f.IP, &f.TCP
	o := EthernetLen
	eth := Section{fmt.Sprintf("Ethernet II header, %d bytes", EthernetLen), []Field{
		{0, 6, "destination", e.Dst.String()},
		{6, 6, "source", e.Src.String()},
		{12, 2, "EtherType", fmt.Sprintf("%#04x %s", e.Type, etherTypes[e.Type])},
	}}
	ipf := Section{fmt.Sprintf("IPv4 header, %d bytes", ip.HeaderLen()), []Field{
		{o, 1, "version, IHL", fmt.Sprintf("4, %d words = %d bytes",
			ip.HeaderLen()/4, ip.HeaderLen())},
		{o + 1, 1, "type of service", fmt.Sprint(ip.TOS)},
		{o + 2, 2, "total length", fmt.Sprintf("%d bytes", ip.TotalLen)},
		{o + 4, 2, "identification", fmt.Sprintf("%d", ip.ID)},
		{o + 6, 2, "flags, fragment", fmt.Sprintf("%s, offset %d", ipFlags(ip.Flags),
			ip.FragOff)},
		{o + 8, 1, "time to live", fmt.Sprint(ip.TTL)},
		{o + 9, 1, "protocol", protoName(ip.Protocol)},
		{o + 10, 2, "header checksum", fmt.Sprintf("%#04x", ip.Checksum)},
		{o + 12, 4, "source", ip.Src.String()},
		{o + 16, 4, "destination", ip.Dst.String()},
	}}
	if n := len(ip.Options); n > 0 {
		ipf.Fields = append(ipf.Fields, Field{o + 20, n, "options", ""})
	}
	o += ip.HeaderLen()
	tcp := Section{fmt.Sprintf("TCP header, %d bytes", t.HeaderLen()), []Field{
		{o, 2, "source port", fmt.Sprint(t.SrcPort)},
		{o + 2, 2, "destination port", fmt.Sprint(t.DstPort)},
		{o + 4, 4, "sequence number", fmt.Sprint(t.Seq)},
		{o + 8, 4, "acknowledgment", fmt.Sprint(t.Ack)},
		{o + 12, 1, "data offset", fmt.Sprintf("%d words = %d bytes",
			t.HeaderLen()/4, t.HeaderLen())},
		{o + 13, 1, "flags", FlagString(t.Flags)},
		{o + 14, 2, "window", fmt.Sprint(t.Window)},
		{o + 16, 2, "checksum", fmt.Sprintf("%#04x", t.Checksum)},
		{o + 18, 2, "urgent pointer", fmt.Sprint(t.Urgent)},
	}}
	if n := len(t.Options); n > 0 {
		tcp.Fields = append(tcp.Fields, Field{o + 20, n, "options", OptionString(t.Options)})
	}
	o += t.HeaderLen()
	data := Section{fmt.Sprintf("TCP data (the application's bytes), %d bytes",
		len(f.Payload)), []Field{{o, len(f.Payload), "", ""}}}
	return []Section{eth, ipf, tcp, data}
}

func ipFlags(f uint8) string {
	var s []string
	if f&FlagDF != 0 {
		s = append(s, "DF")
	}
	if f&FlagMF != 0 {
		s = append(s, "MF")
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "|")
}

func protoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "6 TCP"
	case ProtoUDP:
		return "17 UDP"
	case ProtoICMP:
		return "1 ICMP"
	}
	return fmt.Sprint(p)
}

// OptionString names the TCP options in b (RFC 9293 section 3.2 and the
// IANA registry): the kinds only, with timestamps' values.
func OptionString(b []byte) string {
	var out []string
	for len(b) > 0 {
		kind := b[0]
		switch kind {
		case 0:
			return strings.Join(append(out, "EOL"), ",")
		case 1:
			out, b = append(out, "NOP"), b[1:]
			continue
		}
		if len(b) < 2 || int(b[1]) < 2 || int(b[1]) > len(b) {
			return strings.Join(append(out, "malformed"), ",")
		}
		opt := b[:b[1]]
		switch {
		case kind == 2 && len(opt) == 4:
			out = append(out, fmt.Sprintf("MSS %d", int(opt[2])<<8|int(opt[3])))
		case kind == 3 && len(opt) == 3:
			out = append(out, fmt.Sprintf("WS %d", opt[2]))
		case kind == 4:
			out = append(out, "SACK_PERM")
		case kind == 8 && len(opt) == 10:
			val := uint32(opt[2])<<24 | uint32(opt[3])<<16 | uint32(opt[4])<<8 | uint32(opt[5])
			ecr := uint32(opt[6])<<24 | uint32(opt[7])<<16 | uint32(opt[8])<<8 | uint32(opt[9])
			out = append(out, fmt.Sprintf("TS val %d ecr %d", val, ecr))
		default:
			out = append(out, fmt.Sprintf("kind %d", kind))
		}
		b = b[len(opt):]
	}
	return strings.Join(out, ",")
}

// hexPerLine is how many bytes a dump line shows.
const hexPerLine = 8

// Dump writes frame as an annotated hex dump: one line per field with its
// offset, bytes, name and value, and the data as hex and text.
func Dump(w io.Writer, frame []byte, sections []Section) {
	for _, s := range sections {
		fmt.Fprintf(w, "%s\n", s.Title)
		for _, f := range s.Fields {
			end := min(f.Off+f.Len, len(frame))
			if f.Off >= end {
				continue
			}
			b := frame[f.Off:end]
			for i := 0; i < len(b); i += hexPerLine {
				chunk := b[i:min(i+hexPerLine, len(b))]
				label := ""
				if i == 0 && f.Name != "" {
					label = f.Name
					if f.Value != "" {
						label += ": " + f.Value
					}
				}
				if f.Name == "" {
					label = printable(chunk)
				}
				line := fmt.Sprintf("  %04x  %-23s  %s", f.Off+i, hexBytes(chunk), label)
				fmt.Fprintln(w, strings.TrimRight(line, " "))
			}
		}
	}
}

func hexBytes(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}

func printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c < 0x20 || c >= 0x7f:
			sb.WriteByte('.')
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
