package store

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func TestBadgerLogger(t *testing.T) {
	var buf bytes.Buffer
	l := badgerLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	l.Infof("compaction %d\n", 1)
	l.Debugf("flush %d\n", 2)
	l.Warningf("value log %s\n", "slow")
	l.Errorf("disk %s\n", "full")
	got := buf.String()
	for _, want := range []string{`level=WARN msg="badger warning" detail="value log slow"`, `level=ERROR msg="badger error" detail="disk full"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log: got %q, want a line with %q", got, want)
		}
	}
	if strings.Contains(got, "compaction") || strings.Contains(got, "flush") {
		t.Errorf("log: got %q, want Badger's info and debug lines dropped", got)
	}
}

func TestSpoolTornTailLogged(t *testing.T) {
	dir, _ := spoolWith(t, 2, SpoolOptions{})
	seg := segmentFiles(t, dir)[0]
	fi, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(seg, fi.Size()-1); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	openSpool(t, dir, SpoolOptions{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if want := "torn tail"; !strings.Contains(buf.String(), want) || !strings.Contains(buf.String(), "file="+seg) {
		t.Errorf("log: got %q, want a warning about a torn tail naming %s", buf.String(), seg)
	}
}
