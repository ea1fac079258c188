package inventory

import "testing"

func TestRoundFree(t *testing.T) {
	const gib = 1 << 30
	tests := []struct{ free, total, want uint64 }{
		{37*gib + 12345, 100 * gib, 37 * gib},   // 1 % steps of a 100 GiB filesystem
		{37*gib + 999_999, 100 * gib, 37 * gib}, // a log growing does not show
		{5<<20 + 4096, 50 << 20, 5 << 20},       // small filesystems: 1 MiB steps
		{0, 100 * gib, 0},
	}
	for _, tt := range tests {
		if got := roundFree(tt.free, tt.total); got != tt.want {
			t.Errorf("roundFree(%d, %d): got %d, want %d", tt.free, tt.total, got, tt.want)
		}
	}
}

func TestUDPClientsAreNotListeners(t *testing.T) {
	// 0035 = 53 (a resolver listening), DBEE = 56302 (an ephemeral client socket)
	udp := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  1: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 1 2 0000000000000000 0
  2: 0100007F:DBEE 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3 2 0000000000000000 0
`)
	got := parseProcNet("udp", udp, ephemeralPorts("32768\t60999"))
	if len(got) != 1 || got[0].Port != 53 || got[0].Address != "127.0.0.53" {
		t.Errorf("got %+v, want only the resolver on 127.0.0.53:53", got)
	}
	if r := ephemeralPorts("garbage"); r != (portRange{32768, 60999}) {
		t.Errorf("fallback range: got %v", r)
	}
}
