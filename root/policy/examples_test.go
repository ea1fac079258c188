package policy

import (
	"os"
	"path/filepath"
	"testing"
)

func TestExamplesApply(t *testing.T) {
	dir := filepath.Join("..", "..", "examples")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("examples/ not found")
	}
	docs, err := LoadPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := &Model{}
	if _, err := m.Apply(docs); err != nil {
		t.Fatal(err)
	}
	out, probs, err := Compile(m, testNodes())
	if err != nil || len(probs) > 0 {
		t.Fatalf("compile: %v %v", err, probs)
	}
	p := out["deb12"]
	if len(p.Directives) != 3 {
		t.Errorf("deb12: got %+v", p.Directives)
	}
	found := false
	for _, c := range p.Components {
		found = found || c.ID == "motd-file" && c.Params[0].Value == "/tmp/bosun-demo/motd" && c.Params[1].Value == "Welcome to bosun demo.\nThis node is managed by bosun; local changes to this file are reverted.\n"
	}
	if !found {
		t.Errorf("deb12: no motd component writing /tmp/bosun-demo/motd: %+v", p.Components)
	}
	if len(out["relay1"].Directives) != 0 || len(out["win"].Directives) != 0 {
		t.Error("the demo group should hold only non-relay Linux nodes")
	}
}
