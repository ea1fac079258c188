package wire

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

var testTime = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

// sampleMessages holds one filled-in message of every type; round-trip and fuzz tests
// start from it, so a new message type is covered by adding it here.
func sampleMessages() []Message {
	enrol := NewEnrol(EnrolStub{
		NodeID: "0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e", Hostname: "web1.example.org", OS: "Debian 12",
		PolicyServer: "relay1:6710", SoftwareVersion: "0.1.0", Role: RoleAgent, Time: testTime,
	}, testKey)
	inner, _ := AppendFrame(nil, enrol)
	status := NewStatusRequest(StatusQuery{NodeID: "0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e", Time: testTime}, testKey)
	statusFrame, _ := AppendFrame(nil, status)
	report, _ := NewReport(ReportBody{NodeID: "0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e", ConfigID: "c0ffee", RunID: 7,
		Start: testTime, End: testTime.Add(1500 * time.Millisecond), ReportingMode: ReportingFull,
		Results: []ComponentResult{{Index: 0, Status: StatusSuccess}, {Index: 3, Status: StatusAuditNonCompliant, Message: "/etc/motd differs"}}}, testKey)
	mesh := NewMeshConfig(MeshConfigBody{NodeID: "n1", Time: testTime, Keys: [][]byte{bytes.Repeat([]byte{1}, 32)}, Zone: "paris",
		ZoneSeeds: []string{"10.0.0.1:6712"}, Relays: []ZoneRelay{{NodeID: "r1", QUICAddr: "10.0.0.1:6710", Key: testKey.Public().(ed25519.PublicKey)}}}, testKey)
	return []Message{
		NewFileRequest(FileQuery{NodeID: "n1", Path: "motd/banner.txt", HaveHash: "abc", Time: testTime}, testKey),
		&FileReply{File: SignSharedFile(SharedFile{Path: "motd/banner.txt", Hash: "h", Content: []byte("welcome\n")}, testKey)},
		NewMembership(MembershipBody{RelayID: "r1", Zone: "paris", Time: testTime, Full: true,
			Members: []MemberReport{{NodeID: "n1", State: 1, Since: testTime}, {NodeID: "n2", State: 3, Since: testTime}}}, testKey),
		&StatusReply{NodeStatus: "accepted", ServerTime: testTime, RootKey: testKey.Public().(ed25519.PublicKey), Mesh: mesh},
		NewRelayStats(RelayStatsBody{RelayID: "relay-a", Time: testTime, QueueDepth: 12, QueueBytes: 4096, OldestQueued: testTime,
			BytesSent: 1 << 20, UpstreamUp: false, UpstreamSince: testTime, UpstreamError: "connection refused"}, testKey),
		report,
		NewInventoryUpload(InventoryBody{NodeID: "0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e", Collected: testTime, Kind: InventoryDelta,
			BaseHash: 1 << 60, Hash: 99, Payload: []byte("compressed delta")}, testKey),
		status,
		&StatusReply{NodeStatus: "accepted", InventoryHash: 1234567, InventoryTime: testTime, ConfigID: "c0ffee", ServerTime: testTime,
			RootKey: testKey.Public().(ed25519.PublicKey)},
		&Proxy{Path: []string{"relay-a"}, Frame: statusFrame},
		NewPolicyRequest(PolicyQuery{NodeID: "0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e", ConfigID: "abc", Time: testTime}, testKey),
		&PolicyReply{Answer: PolicyNone, Reason: "node pending"},
		NewHello(RoleRelay, "relay-1", "0.1.0"),
		enrol,
		&Ack{Status: AckRetryLater, Reason: "queue full", RetryAfter: 30 * time.Second, Seq: 42, NodeStatus: "pending"},
		&Forward{Items: []Forwarded{
			{Seq: 1, Path: []string{"relay-a", "relay-b"}, Received: testTime, Frame: inner},
			{Seq: 2, Frame: inner},
		}},
	}
}

// sampleOf returns the sample message of type t.
func sampleOf(t Type) Message {
	for _, m := range sampleMessages() {
		if m.Type() == t {
			return m
		}
	}
	panic(fmt.Sprintf("no sample message of type %v", t))
}

func TestRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		t.Run(m.Type().String(), func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteMessage(&buf, m); err != nil {
				t.Fatal(err)
			}
			got, err := ReadMessage(&buf, MaxFrameSize)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("got %#v, want %#v", got, m)
			}
			if _, err := ReadMessage(&buf, MaxFrameSize); err != io.EOF {
				t.Errorf("after the only frame: got %v, want io.EOF", err)
			}
		})
	}
}

func TestUnknownTypeSkipped(t *testing.T) {
	var b []byte
	b = appendUvarint(b, 999) // a type from a future version
	b = appendBytes(b, []byte("whatever it is"))
	b, _ = AppendFrame(b, &Ack{Status: AckOK})
	m, err := ReadMessage(bytes.NewReader(b), MaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := m.(*Ack); !ok || a.Status != AckOK {
		t.Errorf("got %#v, want the ack after the unknown frame", m)
	}
}

func TestFrameTooLargeRefusedBeforeAllocation(t *testing.T) {
	var b []byte
	b = appendUvarint(b, uint64(TypeHello))
	b = appendUvarint(b, 1<<62) // would be an absurd allocation
	_, err := ReadMessage(bytes.NewReader(b), 1<<20)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("got %v, want ErrFrameTooLarge", err)
	}
}

func TestMalformed(t *testing.T) {
	good, _ := AppendFrame(nil, sampleOf(TypeHello))
	tests := []struct {
		name  string
		frame []byte
	}{
		{"truncated payload", good[:len(good)-3]},
		{"truncated length", good[:1]},
		{"bad role", func() []byte {
			b, _ := AppendFrame(nil, &Hello{ProtocolVersion: 1, Role: 9})
			return b
		}()},
		{"string longer than payload", func() []byte {
			p := appendUvarint(nil, 1)
			p = appendUvarint(p, 1)
			p = append(p, byte(RoleAgent))
			p = appendUvarint(p, 100) // node id claims 100 bytes
			b := appendUvarint(nil, uint64(TypeHello))
			b = appendUvarint(b, uint64(len(p)))
			return append(b, p...)
		}()},
		{"forward count larger than payload", func() []byte {
			p := appendUvarint(nil, 1000)
			b := appendUvarint(nil, uint64(TypeForward))
			b = appendUvarint(b, uint64(len(p)))
			return append(b, p...)
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadMessage(bytes.NewReader(tt.frame), MaxFrameSize)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestEnrolSignature(t *testing.T) {
	e := sampleOf(TypeEnrol).(*Enrol)
	stub, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	if stub.Hostname != "web1.example.org" || !stub.Time.Equal(testTime) || stub.Role != RoleAgent {
		t.Errorf("got stub %+v", stub)
	}

	tampered := *e
	tampered.Signed.Body = bytes.Replace(append([]byte(nil), e.Signed.Body...), []byte("web1"), []byte("web2"), 1)
	if _, err := tampered.Open(); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered body: got %v, want ErrBadSignature", err)
	}

	// A valid signature over the same bytes for another purpose must not open an enrolment.
	other := Sign("report", e.Signed.Body, testKey)
	if _, err := (&Enrol{Signed: other}).Open(); !errors.Is(err, ErrBadSignature) {
		t.Errorf("signature of another domain: got %v, want ErrBadSignature", err)
	}
}

func TestForwardInner(t *testing.T) {
	f := sampleOf(TypeForward).(*Forward)
	m, err := f.Items[0].Inner()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*Enrol); !ok {
		t.Errorf("got %T, want *Enrol", m)
	}
	bad := Forwarded{Seq: 9, Frame: append(append([]byte(nil), f.Items[0].Frame...), 0)}
	if _, err := bad.Inner(); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "item 9") {
		t.Errorf("trailing bytes: got %v", err)
	}
}

func TestAckErr(t *testing.T) {
	if err := (&Ack{Status: AckOK}).Err(); err != nil {
		t.Errorf("ok ack: got %v", err)
	}
	err := (&Ack{Status: AckRejected, Reason: "key refused"}).Err()
	var nack *NackError
	if !errors.As(err, &nack) || nack.Ack.Status != AckRejected {
		t.Errorf("got %v, want a NackError with status rejected", err)
	}
}

// FuzzReadMessage feeds arbitrary bytes to the frame decoder: it must return a message or
// an error, never panic, and whatever it decodes must encode again.
func FuzzReadMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		b, err := AppendFrame(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadMessage(bytes.NewReader(data), 1<<20)
		if err != nil {
			return
		}
		if _, err := AppendFrame(nil, m); err != nil {
			t.Fatalf("decoded %T does not encode again: %v", m, err)
		}
		switch m := m.(type) {
		case *Enrol:
			_, _ = m.Open()
		case *InventoryUpload:
			_, _ = m.Peek()
		case *StatusRequest:
			_, _ = m.Peek()
		case *Proxy:
			_, _ = m.Inner()
		case *PolicyRequest:
			_, _ = m.Peek()
		case *Report:
			_, _ = m.Peek()
		case *RelayStats:
			_, _ = m.Peek()
		case *Membership:
			_, _ = m.Peek()
		case *FileRequest:
			_, _ = m.Peek()
		case *FileReply:
			_, _ = OpenSharedFile(m.File, testKey.Public().(ed25519.PublicKey))
		case *StatusReply:
			if m.Mesh != nil {
				_, _ = m.Mesh.Open(testKey.Public().(ed25519.PublicKey))
			}
		}
		if fw, ok := m.(*Forward); ok {
			for i := range fw.Items {
				_, _ = fw.Items[i].Inner()
			}
		}
	})
}

func TestForwardedItemRoundTrip(t *testing.T) {
	it := sampleOf(TypeForward).(*Forward).Items[0]
	b, err := it.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Forwarded
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, it) {
		t.Errorf("got %#v, want %#v", got, it)
	}
	if err := got.UnmarshalBinary(append(b, 1)); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing byte: got %v, want ErrMalformed", err)
	}
}

func TestLargeFrameReadAsItArrives(t *testing.T) {
	big := &Enrol{Signed: Signed{Body: bytes.Repeat([]byte{1}, 40<<10), Sig: bytes.Repeat([]byte{2}, 64)}}
	fw := &Forward{Items: []Forwarded{{Seq: 1, Frame: bytes.Repeat([]byte{3}, 200<<10)}}}
	for _, m := range []Message{big, fw} {
		b, _ := AppendFrame(nil, m)
		got, err := ReadMessage(bytes.NewReader(b), MaxFrameSize)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("%v: got %v", m.Type(), err)
		}
		// Cut short: an error that still says what the underlying failure was.
		_, err = ReadMessage(bytes.NewReader(b[:len(b)-10]), MaxFrameSize)
		if !errors.Is(err, ErrMalformed) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%v cut short: got %v", m.Type(), err)
		}
	}
}

func TestMeshConfig(t *testing.T) {
	var reply *StatusReply
	for _, m := range sampleMessages() {
		if r, ok := m.(*StatusReply); ok && r.Mesh != nil {
			reply = r
		}
	}
	body, err := reply.Mesh.Open(testKey.Public().(ed25519.PublicKey))
	if err != nil || body.Zone != "paris" || len(body.Keys) != 1 || len(body.Relays) != 1 || body.Relays[0].QUICAddr != "10.0.0.1:6710" {
		t.Fatalf("got %+v, %v", body, err)
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	if _, err := reply.Mesh.Open(other.Public().(ed25519.PublicKey)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("a mesh config not signed by the root: got %v", err)
	}
}

func TestSignedPeekVerify(t *testing.T) {
	inv := sampleOf(TypeInventory).(*InventoryUpload)
	body, err := inv.Peek()
	if err != nil || body.Kind != InventoryDelta || body.BaseHash != 1<<60 || string(body.Payload) != "compressed delta" {
		t.Fatalf("got %+v, %v", body, err)
	}
	if err := inv.Verify(testKey.Public().(ed25519.PublicKey)); err != nil {
		t.Error(err)
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
	if err := inv.Verify(other.Public().(ed25519.PublicKey)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another key: got %v", err)
	}
	st := sampleOf(TypeStatusRequest).(*StatusRequest)
	if q, err := st.Peek(); err != nil || q.NodeID == "" {
		t.Errorf("status peek: %+v %v", q, err)
	}
	// A status signature cannot pass for an inventory signature.
	if err := (&InventoryUpload{Signed: st.Signed}).Verify(testKey.Public().(ed25519.PublicKey)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("cross-domain: got %v", err)
	}
	if m, err := sampleOf(TypeProxy).(*Proxy).Inner(); err != nil || m.Type() != TypeStatusRequest {
		t.Errorf("proxy inner: %v %v", m, err)
	}
}

func TestPolicyReplyRoundTrip(t *testing.T) {
	old := samplePolicy()
	old.SetConfigID()
	next := samplePolicy()
	next.Components[0].Name = "changed"
	next.SetConfigID()
	signed, err := NewSignedPolicy(next, testKey)
	if err != nil {
		t.Fatal(err)
	}
	delta, err := DiffSignedPolicy(old, signed)
	if err != nil {
		t.Fatal(err)
	}
	pub := testKey.Public().(ed25519.PublicKey)
	for _, r := range []*PolicyReply{
		{Answer: PolicyFull, Policy: signed},
		{Answer: PolicyPatch, Delta: delta},
		{Answer: PolicyUnchanged},
	} {
		var buf bytes.Buffer
		if err := WriteMessage(&buf, r); err != nil {
			t.Fatal(err)
		}
		m, err := ReadMessage(&buf, MaxFrameSize)
		if err != nil {
			t.Fatalf("answer %d: %v", r.Answer, err)
		}
		got := m.(*PolicyReply)
		switch r.Answer {
		case PolicyFull:
			if p, err := got.Policy.Open(pub); err != nil || p.ConfigID != next.ConfigID {
				t.Errorf("full: %v", err)
			}
		case PolicyPatch:
			if _, p, err := got.Delta.Open(old, pub); err != nil || p.ConfigID != next.ConfigID {
				t.Errorf("patch: %v", err)
			}
		}
	}
}

func TestReportSize(t *testing.T) {
	full := ReportBody{NodeID: "0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e", ConfigID: "0123456789abcdef", RunID: 123456,
		Start: testTime, End: testTime.Add(2 * time.Second), ReportingMode: ReportingFull}
	for i := range 100 {
		full.Results = append(full.Results, ComponentResult{Index: uint32(i), Status: StatusSuccess})
	}
	heartbeat := full
	heartbeat.ReportingMode, heartbeat.Results = ReportingChangesOnly, nil
	for _, tt := range []struct {
		name string
		body ReportBody
		max  int
	}{{"full, 100 compliant components", full, 1024}, {"changes only, all compliant", heartbeat, 200}} {
		r, err := NewReport(tt.body, testKey)
		if err != nil {
			t.Fatal(err)
		}
		frame, _ := AppendFrame(nil, r)
		t.Logf("%s: %d bytes", tt.name, len(frame))
		if len(frame) > tt.max {
			t.Errorf("%s: %d bytes, want at most %d", tt.name, len(frame), tt.max)
		}
		got, err := r.Peek()
		if err != nil || !reflect.DeepEqual(got, tt.body) && len(got.Results) != len(tt.body.Results) {
			t.Errorf("%s: round trip: %v", tt.name, err)
		}
	}
	if _, err := NewReport(ReportBody{NodeID: "n", RunID: 1, Results: []ComponentResult{{Index: 2, Status: StatusSuccess}, {Index: 1, Status: StatusSuccess}}}, testKey); err == nil {
		t.Error("results out of order were encoded")
	}
}

// TestForwardCompression: a batch of a zone's reports shrinks on the uplink, and survives
// the round trip.
func TestForwardCompression(t *testing.T) {
	fw := &Forward{}
	plain := 0
	for i := range 200 {
		r, _ := NewReport(ReportBody{NodeID: fmt.Sprintf("0b5f6c1e-4c36-4b6f-9a3e-%012d", i), ConfigID: "0123456789abcdef", RunID: uint64(1000 + i),
			Start: testTime, End: testTime.Add(time.Second), ReportingMode: ReportingChangesOnly}, testKey)
		frame, _ := AppendFrame(nil, r)
		plain += len(frame)
		fw.Items = append(fw.Items, Forwarded{Seq: uint64(i + 1), Path: []string{"relay-a-1234567890"}, Received: testTime, Frame: frame})
	}
	b, err := AppendFrame(nil, fw)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("200 heartbeats: %d bytes of report frames, %d bytes on the uplink", plain, len(b))
	if len(b) >= plain {
		t.Errorf("the batch did not shrink: %d bytes for %d bytes of reports", len(b), plain)
	}
	got, err := ReadMessage(bytes.NewReader(b), MaxFrameSize)
	if err != nil || !reflect.DeepEqual(got, fw) {
		t.Fatalf("round trip: %v", err)
	}
}
