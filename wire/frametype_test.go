package wire

import "testing"

func TestFrameType(t *testing.T) {
	b, err := AppendFrame(nil, &Ack{Status: AckOK})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := FrameType(b); !ok || got != TypeAck {
		t.Errorf("ack frame: got %v %v, want %v true", got, ok, TypeAck)
	}
	for _, bad := range [][]byte{nil, {0x80}} {
		if _, ok := FrameType(bad); ok {
			t.Errorf("%x: got a type, want none", bad)
		}
	}
}
