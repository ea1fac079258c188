package wire

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// samplePolicy is shaped like what root/policy compiles: two directives of two rules, a
// block with a focus, a component with reporting disabled and one with a mode override.
func samplePolicy() *AppliedPolicy {
	p := &AppliedPolicy{
		NodeID:        "5c3a0d4e-6b1e-4f8e-9a4e-0d5d6f1f2a3b",
		Generated:     time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Serial:        42,
		RunInterval:   5 * time.Minute,
		Splay:         4 * time.Minute,
		HeartbeatRuns: 1,
		ReportingMode: ReportingFull,
		Settings:      []Param{{"inventory.window", "00:00-06:00"}},
		Directives: []PolicyDirective{
			{RuleID: "base", RuleName: "Base", DirectiveID: "motd", DirectiveName: "Message of the day",
				TechniqueID: "motd", TechniqueVersion: "1.0", Mode: ModeEnforce, OverriddenRuleIDs: []string{"extra"}},
			{RuleID: "web", RuleName: "Web servers", DirectiveID: "nginx", DirectiveName: "nginx present",
				TechniqueID: "package_state", TechniqueVersion: "1.0", Mode: ModeAudit},
		},
		Blocks: []PolicyBlock{
			{ID: "b1", Name: "service", Parent: -1, Directive: 1, Condition: "linux", Logic: LogicFocus, FocusID: "c3"},
			{ID: "b2", Name: "inner", Parent: 0, Directive: 1, Logic: LogicWorstCaseWeightedOne},
		},
		Components: []Component{
			{Directive: 0, Block: -1, ID: "c1", Name: "motd file", Method: "file_content",
				Params:         []Param{{"path", "/etc/motd"}, {"lines", "Welcome\n\"quoted\" ${sys.host}"}, {"enforce", "true"}},
				ReportingValue: "/etc/motd", Mode: ModeEnforce},
			{Directive: 1, Block: 0, ID: "c2", Name: "nginx", Method: "package_present",
				Params:         []Param{{"name", "nginx"}, {"version", ""}, {"architecture", ""}, {"provider", ""}},
				ReportingValue: "nginx", Condition: "debian|redhat", Mode: ModeAudit},
			{Directive: 1, Block: 0, ID: "c3", Name: "nginx running", Method: "service_started",
				Params: []Param{{"name", "nginx"}}, ReportingValue: "nginx", Condition: "package_present_nginx_kept", Mode: ModeEnforce},
			{Directive: 1, Block: 1, ID: "c4", Name: "quiet", Method: "command_execution",
				Params: []Param{{"command", "/bin/true"}}, ReportingValue: "/bin/true", Mode: ModeAudit, NoReport: true},
		},
	}
	p.SetConfigID()
	return p
}

func TestAppliedPolicyRoundTrip(t *testing.T) {
	p := samplePolicy()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got AppliedPolicy
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, p) {
		t.Errorf("round trip:\ngot  %+v\nwant %+v", got, *p)
	}
	b2, _ := got.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Error("encoding is not canonical: decoding and encoding again changed the bytes")
	}
}

func TestConfigID(t *testing.T) {
	base := samplePolicy()
	tests := []struct {
		name   string
		change func(p *AppliedPolicy)
		same   bool
	}{
		{"generated and serial", func(p *AppliedPolicy) { p.Generated = p.Generated.Add(time.Hour); p.Serial++ }, true},
		{"nothing", func(p *AppliedPolicy) {}, true},
		{"a value", func(p *AppliedPolicy) { p.Components[0].Params[1].Value = "Bye" }, false},
		{"a mode", func(p *AppliedPolicy) { p.Directives[1].Mode = ModeEnforce }, false},
		{"the node", func(p *AppliedPolicy) { p.NodeID = "other" }, false},
		{"run interval", func(p *AppliedPolicy) { p.RunInterval = time.Minute }, false},
		{"component order", func(p *AppliedPolicy) { p.Components[2], p.Components[3] = p.Components[3], p.Components[2] }, false},
	}
	for _, tt := range tests {
		p := samplePolicy()
		tt.change(p)
		got := p.ComputeConfigID()
		if (got == base.ConfigID) != tt.same {
			t.Errorf("%s: config id %s, base %s, want same=%v", tt.name, got, base.ConfigID, tt.same)
		}
	}
	if len(base.ConfigID) != 16 {
		t.Errorf("config id %q: want 16 hex digits", base.ConfigID)
	}
}

func TestSignedPolicy(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	p := samplePolicy()
	s, err := NewSignedPolicy(p, priv)
	if err != nil {
		t.Fatal(err)
	}
	frame, err := AppendFrame(nil, s)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadMessage(bytes.NewReader(frame), MaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.(*SignedPolicy).Open(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Errorf("opened policy differs from the signed one")
	}
	if _, err := s.Open(otherPub); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong key: got %v, want ErrBadSignature", err)
	}
	tampered := *s
	tampered.Signed.Body = bytes.Replace(append([]byte(nil), s.Signed.Body...), []byte("/etc/motd"), []byte("/etc/evil"), 1)
	if _, err := tampered.Open(pub); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered body: got %v, want ErrBadSignature", err)
	}
	wrongID := samplePolicy()
	wrongID.ConfigID = "0000000000000000"
	if _, err := NewSignedPolicy(wrongID, priv); err == nil {
		t.Error("signing a policy whose config id does not match its content: got no error")
	}
}

func TestPolicyCheck(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *AppliedPolicy)
	}{
		{"component directive out of range", func(p *AppliedPolicy) { p.Components[0].Directive = 2 }},
		{"component block out of range", func(p *AppliedPolicy) { p.Components[0].Block = 2 }},
		{"block parent after itself", func(p *AppliedPolicy) { p.Blocks[0].Parent = 1 }},
		{"block logic", func(p *AppliedPolicy) { p.Blocks[0].Logic = 0 }},
		{"directive mode", func(p *AppliedPolicy) { p.Directives[0].Mode = 3 }},
		{"component mode", func(p *AppliedPolicy) { p.Components[0].Mode = 0 }},
		{"reporting mode", func(p *AppliedPolicy) { p.ReportingMode = 9 }},
	}
	for _, tt := range tests {
		p := samplePolicy()
		tt.change(p)
		b, _ := p.MarshalBinary()
		var got AppliedPolicy
		if err := got.UnmarshalBinary(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", tt.name, err)
		}
	}
}

func TestPolicyDelta(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	old := samplePolicy()
	// Make the base larger so that copies show up as runs.
	for i := range 20 {
		old.Components = append(old.Components, Component{Directive: 0, Block: -1, ID: fmt.Sprintf("f%d", i),
			Method: "file_present", Params: []Param{{"path", fmt.Sprintf("/tmp/f%d", i)}}, ReportingValue: fmt.Sprintf("/tmp/f%d", i), Mode: ModeEnforce})
	}
	old.SetConfigID()

	next := samplePolicy()
	next.Components = append([]Component(nil), old.Components...)
	next.Components[5].Params = []Param{{"path", "/tmp/changed"}}
	next.Components = append(next.Components[:10], next.Components[11:]...)
	next.Components = append(next.Components, Component{Directive: 1, Block: -1, ID: "new", Method: "service_started",
		Params: []Param{{"name", "ssh"}}, ReportingValue: "ssh", Mode: ModeAudit})
	next.Serial = 43
	next.Generated = old.Generated.Add(time.Minute)
	next.SetConfigID()
	signed, err := NewSignedPolicy(next, priv)
	if err != nil {
		t.Fatal(err)
	}

	d, err := DiffSignedPolicy(old, signed)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := d.AppendBinary(nil)
	full, _ := next.MarshalBinary()
	if len(enc) >= len(full) {
		t.Errorf("delta of %d bytes is not smaller than the full policy of %d", len(enc), len(full))
	}
	var decoded PolicyDelta
	if err := decoded.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	s, got, err := decoded.Open(old, pub)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, next) {
		t.Errorf("rebuilt policy differs:\ngot  %+v\nwant %+v", got.Components, next.Components)
	}
	if !bytes.Equal(s.Signed.Body, signed.Signed.Body) {
		t.Error("rebuilt signed body differs from the root's")
	}

	if _, err := decoded.Apply(samplePolicy()); !errors.Is(err, ErrPolicyBase) {
		t.Errorf("wrong base: got %v, want ErrPolicyBase", err)
	}
	if _, err := decoded.Apply(nil); !errors.Is(err, ErrPolicyBase) {
		t.Errorf("no base: got %v, want ErrPolicyBase", err)
	}
	forged := decoded
	forged.Sig = bytes.Repeat([]byte{1}, 64)
	if _, _, err := forged.Open(old, pub); !errors.Is(err, ErrBadSignature) {
		t.Errorf("forged signature: got %v, want ErrBadSignature", err)
	}
	// A delta between identical contents is all copies.
	same := DiffPolicy(old, old)
	if len(same.Ops) != 1 || same.Ops[0].Count != len(old.Components) {
		t.Errorf("delta of a policy with itself: got %d ops %+v, want one copy of %d", len(same.Ops), same.Ops, len(old.Components))
	}
}

// FuzzAppliedPolicy feeds arbitrary bytes to the policy and delta decoders: they must
// return an error or something that encodes again to a stable form, never panic.
func FuzzAppliedPolicy(f *testing.F) {
	p := samplePolicy()
	b, _ := p.MarshalBinary()
	f.Add(b)
	q := samplePolicy()
	q.Components = q.Components[1:]
	q.Components[0].Params[0].Value = "apache2"
	q.SetConfigID()
	d, _ := DiffPolicy(p, q).AppendBinary(nil)
	f.Add(d)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var p AppliedPolicy
		if err := p.UnmarshalBinary(data); err == nil {
			b1, _ := p.MarshalBinary()
			var p2 AppliedPolicy
			if err := p2.UnmarshalBinary(b1); err != nil {
				t.Fatalf("re-encoded policy does not decode: %v", err)
			}
			b2, _ := p2.MarshalBinary()
			if !bytes.Equal(b1, b2) {
				t.Fatal("encoding not stable after one round trip")
			}
			_ = p.ComputeConfigID()
		}
		var d PolicyDelta
		if err := d.UnmarshalBinary(data); err == nil {
			_, _ = d.Apply(samplePolicy())
			if _, err := d.AppendBinary(nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}
