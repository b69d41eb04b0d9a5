package main

import "testing"

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"news.*", "news.sport", true},
		{"news.*", "news.", true},
		{"news.*", "news", false},
		{"*", "", true},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h*llo", "heeeello", true},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[b-a]llo", "hallo", true}, // reversed range
		{`h\*llo`, "h*llo", true},
		{`h\*llo`, "hello", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"[abc", "b", true}, // unterminated class, as Redis
		{`x\`, `x\`, true},  // trailing backslash is literal
		{"sport.*", "news.sport", false},
	}
	for _, c := range cases {
		if got := globMatch(c.pattern, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

// slowGlob is an obviously correct exponential matcher over tokens.
func slowGlob(toks []globTok, s string) bool {
	if len(toks) == 0 {
		return s == ""
	}
	if toks[0].kind == tokStar {
		for i := 0; i <= len(s); i++ {
			if slowGlob(toks[1:], s[i:]) {
				return true
			}
		}
		return false
	}
	return s != "" && toks[0].matches(s[0]) && slowGlob(toks[1:], s[1:])
}

func FuzzGlob(f *testing.F) {
	f.Add("a*b?c[d-f]", "axxbycE")
	f.Add(`[^\]]*`, "abc")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 16 || len(s) > 16 {
			return
		}
		if got, want := globMatch(pattern, s), slowGlob(compileGlob(pattern), s); got != want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", pattern, s, got, want)
		}
	})
}
