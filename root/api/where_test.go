package api

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseQuantity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"4GiB", 4 << 30, true}, {"4G", 4 << 30, true}, {"4GB", 4e9, true}, {"512m", 512 << 20, true},
		{"2.5", 2.5, true}, {"10 KiB", 10 << 10, true}, {"debian", 0, false}, {"GiB", 0, false}, {"1.2.3", 0, false},
	} {
		got, ok := ParseQuantity(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseQuantity(%q): got %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.10", "1.9", 1}, {"1.0", "1.0.1", -1}, {"1.0~rc1", "1.0", -1}, {"2.0a", "2.0", 1},
		{"1:1.0", "2.0", 1}, {"3.0.7-25.el9", "3.0.7-25.el9", 0}, {"1.01", "1.1", 0}, {"1.a", "1.1", -1},
		{"ח1", "ח2", -1},
	} {
		got := CompareVersions(tc.a, tc.b)
		if (got < 0) != (tc.want < 0) || (got > 0) != (tc.want > 0) {
			t.Errorf("CompareVersions(%q, %q): got %d, want sign of %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestConditions(t *testing.T) {
	var doc any
	json.Unmarshal([]byte(`{"os":{"name":"Debian GNU/Linux","version":"12"},"memory":{"total":8589934592},
		"software":[{"name":"openssl","version":"3.0.13"},{"name":"curl"}],
		"updates":[{"name":"a","security":true},{"name":"b"}],"node":{"status":"accepted"}}`), &doc)
	for _, tc := range []struct {
		cond string
		want bool
	}{
		{"os.name=debian gnu/linux", true}, {"os~^Debian", true}, {"ram>4GiB", true}, {"ram>=8GiB", true},
		{"ram<8GiB", false}, {"os.version>9", true}, {"package=curl", true}, {"package!=curl", false},
		{"package!=nginx", true}, {"updates=2", true}, {"security_updates=1", true}, {"status=accepted", true},
		{"machine.serial=x", false}, {"machine.serial!=x", true}, {"software.version<3.1", true},
	} {
		c, err := ParseCondition(tc.cond)
		if err != nil {
			t.Errorf("%s: %v", tc.cond, err)
			continue
		}
		if got := c.Match(doc); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.cond, got, tc.want)
		}
	}
	for _, bad := range []string{"ram", "=4", "os.name~(", "a..b=1", "ram>"} {
		if _, err := ParseCondition(bad); err == nil || !strings.Contains(err.Error(), "condition") {
			t.Errorf("ParseCondition(%q): got %v, want an error naming the condition", bad, err)
		}
	}
}
