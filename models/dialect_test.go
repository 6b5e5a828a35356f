package models

import "testing"

func TestNumberPlaceholders(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"UPDATE t SET a = ? WHERE id = ?", "UPDATE t SET a = $1 WHERE id = $2"},
		{"SELECT ?1, ?2, ?1", "SELECT $1, $2, $1"},
		{"SELECT '?' , ? FROM t WHERE x LIKE 'a?%'", "SELECT '?' , $1 FROM t WHERE x LIKE 'a?%'"},
		{"SELECT $1::jsonb", "SELECT $1::jsonb"},
	} {
		if got := numberPlaceholders(c.in); got != c.want {
			t.Errorf("numberPlaceholders(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://app:hunter2@db:5432/td?sslmode=require", "postgres://app:xxxxx@db:5432/td?sslmode=require"},
		{"postgres://app@db/td?password=hunter2", "postgres://app@db/td?password=xxxxx"},
		{"postgres://db/td", "postgres://db/td"},
		{"postgres://app:hunter2@db:port/td", "(a URL that does not parse)"},
	} {
		if got := RedactURL(c.in); got != c.want {
			t.Errorf("RedactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
