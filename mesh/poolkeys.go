package mesh

import (
	"bytes"
	"fmt"
)

// ParseProfile is the inverse of Profile.String, for flags.
func ParseProfile(s string) (Profile, error) {
	for _, p := range []Profile{ProfileLAN, ProfileWAN, ProfileLocal} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("gossip profile %q: want lan, wan or local", s)
}

// SetKeyring brings the pool's keyring to keys, the first one encrypting: new keys are
// installed before the primary changes and old ones removed after, so a rotation the root
// hands out in steps never leaves this member unable to read its pool.
func (p *Pool) SetKeyring(keys [][]byte) error {
	if len(keys) == 0 {
		return fmt.Errorf("pool %s: %w", p.cfg.Zone, ErrNoGossipKey)
	}
	if p.keyring == nil {
		return fmt.Errorf("pool %s runs without encryption; it cannot take a keyring", p.cfg.Zone)
	}
	for _, k := range keys {
		if err := p.AddKey(k); err != nil {
			return err
		}
	}
	if !bytes.Equal(p.keyring.GetPrimaryKey(), keys[0]) {
		if err := p.UseKey(keys[0]); err != nil {
			return err
		}
	}
	for _, installed := range p.keyring.GetKeys() {
		keep := false
		for _, k := range keys {
			keep = keep || bytes.Equal(installed, k)
		}
		if !keep {
			if err := p.RemoveKey(installed); err != nil {
				return err
			}
		}
	}
	return nil
}
