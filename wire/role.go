package wire

import "fmt"

// Role is what a process is in the mesh.
type Role uint8

const (
	RoleAgent Role = 1
	RoleRelay Role = 2
	RoleRoot  Role = 3
)

func (r Role) String() string {
	switch r {
	case RoleAgent:
		return "agent"
	case RoleRelay:
		return "relay"
	case RoleRoot:
		return "root"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// ParseRole is the inverse of Role.String.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{RoleAgent, RoleRelay, RoleRoot} {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q (want agent, relay or root)", s)
}

func (r Role) valid() bool { return r >= RoleAgent && r <= RoleRoot }
