package mesh

import (
	"bytes"
	"testing"

	"github.com/bosun-io/bosun/wire"
)

func TestSetKeyring(t *testing.T) {
	k1, k2, k3 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	p, err := NewPool(PoolConfig{Zone: "z", NodeID: "n1", Role: wire.RoleAgent, BindAddr: "127.0.0.1:0", Keyring: [][]byte{k1}, Profile: ProfileLocal})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	steps := []struct {
		keys    [][]byte
		primary []byte
		count   int
	}{
		{[][]byte{k1, k2}, k1, 2}, // a rotation starts: the new key is installed
		{[][]byte{k2, k1}, k2, 2}, // then encrypts
		{[][]byte{k2}, k2, 1},     // then the old one goes
		{[][]byte{k3}, k3, 1},     // a replacement in one step
	}
	for i, s := range steps {
		if err := p.SetKeyring(s.keys); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := p.keyring.GetPrimaryKey(); !bytes.Equal(got, s.primary) || len(p.keyring.GetKeys()) != s.count {
			t.Errorf("step %d: primary %x, %d keys; want %x, %d", i, got[:1], len(p.keyring.GetKeys()), s.primary[:1], s.count)
		}
	}
	if _, err := ParseProfile("wan"); err != nil {
		t.Error(err)
	}
	if _, err := ParseProfile("fast"); err == nil {
		t.Error("an unknown profile parsed")
	}
}
