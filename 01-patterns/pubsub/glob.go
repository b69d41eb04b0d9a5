package main

// globMatch reports whether s matches the glob pattern as Redis's
// PSUBSCRIBE matches channel names (stringmatchlen): * is any run of
// bytes, ? is one byte, [abc], [a-z] and [^a-z] are byte classes, and \x
// is a literal x. Matching is by bytes and case-sensitive. It runs in
// O(len(pattern) * len(s)) time whatever the pattern.
func globMatch(pattern, s string) bool {
	toks := compileGlob(pattern)
	// The classic backtracking matcher for globs: each non-star token
	// matches exactly one byte, so only the last star needs to be retried.
	ti, si := 0, 0
	star, starS := -1, 0
	for si < len(s) {
		if ti < len(toks) && toks[ti].kind != tokStar && toks[ti].matches(s[si]) {
			ti++
			si++
			continue
		}
		if ti < len(toks) && toks[ti].kind == tokStar {
			star, starS = ti, si
			ti++
			continue
		}
		if star >= 0 {
			starS++
			ti, si = star+1, starS
			continue
		}
		return false
	}
	for ti < len(toks) && toks[ti].kind == tokStar {
		ti++
	}
	return ti == len(toks)
}

type tokKind byte

const (
	tokByte tokKind = iota
	tokAny
	tokStar
	tokClass
)

type globTok struct {
	kind   tokKind
	b      byte
	set    [256]bool // for tokClass
	negate bool
}

func (t *globTok) matches(c byte) bool {
	switch t.kind {
	case tokByte:
		return c == t.b
	case tokAny:
		return true
	case tokClass:
		return t.set[c] != t.negate
	}
	return false
}

// compileGlob turns a pattern into tokens. An unterminated class ends at
// the end of the pattern, and a trailing backslash is a literal one, as in
// Redis.
func compileGlob(p string) []globTok {
	var toks []globTok
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			if len(toks) == 0 || toks[len(toks)-1].kind != tokStar {
				toks = append(toks, globTok{kind: tokStar})
			}
		case '?':
			toks = append(toks, globTok{kind: tokAny})
		case '\\':
			if i+1 < len(p) {
				i++
			}
			toks = append(toks, globTok{kind: tokByte, b: p[i]})
		case '[':
			t := globTok{kind: tokClass}
			i++
			if i < len(p) && p[i] == '^' {
				t.negate = true
				i++
			}
			for ; i < len(p) && p[i] != ']'; i++ {
				switch {
				case p[i] == '\\' && i+1 < len(p):
					i++
					t.set[p[i]] = true
				case i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']':
					lo, hi := p[i], p[i+2]
					if lo > hi {
						lo, hi = hi, lo
					}
					for c := int(lo); c <= int(hi); c++ {
						t.set[c] = true
					}
					i += 2
				default:
					t.set[p[i]] = true
				}
			}
			toks = append(toks, t)
		default:
			toks = append(toks, globTok{kind: tokByte, b: c})
		}
	}
	return toks
}
