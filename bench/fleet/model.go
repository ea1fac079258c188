package fleet

import (
	"fmt"
	"strings"
)

// minComponents is the smallest policy the model can make: one directive per family and
// one for every node.
const minComponents = 5

// modelYAML is the policy model of the simulated fleet: components-components/5 directives
// (package_present, one component each) in a rule for every node, and components/5 more per
// OS family in a rule for a dynamic group of that family, so that each node has exactly
// components components and the compiler evaluates groups on inventory facts.
func modelYAML(components int) string {
	perFamily := components / 5
	base := components - perFamily
	var b strings.Builder
	var names []string
	for d := range base {
		fmt.Fprintf(&b, "kind: directive\nid: base-%03d\nname: Base package %03d\ntechnique: package_present\nparams:\n  name: basepkg%03d\n---\n", d, d, d)
		names = append(names, fmt.Sprintf("base-%03d", d))
	}
	fmt.Fprintf(&b, "kind: rule\nid: base\nname: Base\ndirectives: [%s]\ntargets:\n  include: [all-nodes]\n", strings.Join(names, ", "))
	for _, f := range families {
		names = names[:0]
		fmt.Fprintf(&b, "---\nkind: group\nid: os-%s\nname: OS family %s\ncriteria:\n  all:\n    - fact: os.family\n      op: equals\n      value: %s\n", f, f, f)
		for d := range perFamily {
			fmt.Fprintf(&b, "---\nkind: directive\nid: %s-%03d\nname: %s package %03d\ntechnique: package_present\nparams:\n  name: %spkg%03d\n", f, d, f, d, f, d)
			names = append(names, fmt.Sprintf("%s-%03d", f, d))
		}
		fmt.Fprintf(&b, "---\nkind: rule\nid: os-%s\nname: OS %s\ndirectives: [%s]\ntargets:\n  include: [os-%s]\n", f, f, strings.Join(names, ", "), f)
	}
	return b.String()
}

// changeYAML changes one directive of the Debian family's rule: the "one change" whose
// recompilation the benchmark times. Every Debian and Ubuntu node is reached.
func changeYAML(round int) string {
	return fmt.Sprintf("kind: directive\nid: debian-000\nname: debian package 000\ntechnique: package_present\nparams:\n  name: debianpkg000-v%d\n", round)
}
