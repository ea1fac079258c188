package compliance

import (
	"strconv"
	"strings"

	"github.com/bosun-io/bosun/wire"
)

// layout is the shape of an applied policy: what compliance needs of it, without the
// values. Nodes whose policies have the same shape share one layout.
type layout struct {
	key   string
	dirs  []ldir
	rules []int32 // global rule index of each rule slot
	comps []lcomp
	// units are what counts, when a block's reporting logic makes several components count
	// as one or as their worst; nil when every reported component counts as itself.
	units []unit
	refs  int
}

type ldir struct {
	g          int32  // global directive index
	rule       uint16 // rule slot
	overridden []int32
}

type lcomp struct {
	dir     uint16 // directive slot
	mode    wire.PolicyMode
	counted bool // false: NoReport, or under a block whose reporting is disabled
	hidden  bool // under a block whose reporting is disabled: results are ignored
	id      string
	name    string
}

// unit is one counted item: the worst state of pick, counted weight times.
type unit struct {
	dir    uint16
	pick   []uint32
	weight int32
}

// shapeKey is what makes two policies share a layout.
func shapeKey(p *wire.AppliedPolicy) string {
	var b strings.Builder
	for _, d := range p.Directives {
		b.WriteString(d.RuleID)
		b.WriteByte(0)
		b.WriteString(d.RuleName)
		b.WriteByte(0)
		b.WriteString(d.DirectiveID)
		b.WriteByte(0)
		b.WriteString(d.DirectiveName)
		b.WriteByte(0)
		b.WriteString(strings.Join(d.OverriddenRuleIDs, ","))
		b.WriteByte(1)
	}
	b.WriteByte(2)
	for _, k := range p.Blocks {
		b.WriteString(k.ID)
		b.WriteByte(0)
		b.WriteString(strconv.Itoa(k.Parent))
		b.WriteByte(0)
		b.WriteString(strconv.Itoa(k.Directive))
		b.WriteByte(byte(k.Logic))
		b.WriteString(k.FocusID)
		b.WriteByte(1)
	}
	b.WriteByte(2)
	for _, c := range p.Components {
		b.WriteString(strconv.Itoa(c.Directive))
		b.WriteByte(0)
		b.WriteString(strconv.Itoa(c.Block))
		b.WriteByte(byte(c.Mode))
		if c.NoReport {
			b.WriteByte('n')
		}
		b.WriteString(c.ID)
		b.WriteByte(0)
		b.WriteString(c.Name)
		b.WriteByte(1)
	}
	return b.String()
}

// buildLayout makes the layout of p; dirIndex and ruleIndex intern directive and rule ids.
func buildLayout(p *wire.AppliedPolicy, key string, dirIndex func(id, name string) int32, ruleIndex func(id, name string) int32) *layout {
	l := &layout{key: key, dirs: make([]ldir, len(p.Directives)), comps: make([]lcomp, len(p.Components))}
	ruleSlot := map[int32]uint16{}
	for i, d := range p.Directives {
		g := ruleIndex(d.RuleID, d.RuleName)
		slot, ok := ruleSlot[g]
		if !ok {
			slot = uint16(len(l.rules))
			ruleSlot[g] = slot
			l.rules = append(l.rules, g)
		}
		l.dirs[i] = ldir{g: dirIndex(d.DirectiveID, d.DirectiveName), rule: slot}
		for _, o := range d.OverriddenRuleIDs {
			l.dirs[i].overridden = append(l.dirs[i].overridden, ruleIndex(o, ""))
		}
	}
	// For each component, the outermost enclosing block whose logic is not weighted
	// collapses it; a disabled block anywhere above it hides it.
	collapse := make([]int, len(p.Components))
	simple := true
	for i, c := range p.Components {
		l.comps[i] = lcomp{dir: uint16(c.Directive), mode: c.Mode, counted: !c.NoReport, id: c.ID, name: c.Name}
		collapse[i] = -1
		for b := c.Block; b >= 0; b = p.Blocks[b].Parent {
			switch p.Blocks[b].Logic {
			case wire.LogicDisabled:
				l.comps[i].counted, l.comps[i].hidden = false, true
			case wire.LogicWeighted:
			default:
				collapse[i] = b
			}
		}
		if collapse[i] >= 0 && l.comps[i].counted {
			simple = false
		}
	}
	if simple {
		return l
	}
	byBlock := map[int]int{} // block → unit index
	for i := range p.Components {
		if !l.comps[i].counted {
			continue
		}
		b := collapse[i]
		if b < 0 {
			l.units = append(l.units, unit{dir: l.comps[i].dir, pick: []uint32{uint32(i)}, weight: 1})
			continue
		}
		u, ok := byBlock[b]
		if !ok {
			u = len(l.units)
			byBlock[b] = u
			l.units = append(l.units, unit{dir: uint16(p.Blocks[b].Directive), weight: 0})
		}
		blk := p.Blocks[b]
		switch blk.Logic {
		case wire.LogicWorstCaseWeightedSum:
			l.units[u].weight++
		default:
			l.units[u].weight = 1
		}
		if blk.Logic == wire.LogicFocus && !inFocus(p, i, blk.FocusID) {
			continue
		}
		l.units[u].pick = append(l.units[u].pick, uint32(i))
	}
	// A focus that names nothing under its block falls back to the worst of the block.
	for b, u := range byBlock {
		if len(l.units[u].pick) > 0 {
			continue
		}
		for i := range p.Components {
			if collapse[i] == b && l.comps[i].counted {
				l.units[u].pick = append(l.units[u].pick, uint32(i))
			}
		}
	}
	return l
}

// inFocus reports whether component i is, or is under, the item named focus.
func inFocus(p *wire.AppliedPolicy, i int, focus string) bool {
	if p.Components[i].ID == focus {
		return true
	}
	for b := p.Components[i].Block; b >= 0; b = p.Blocks[b].Parent {
		if p.Blocks[b].ID == focus {
			return true
		}
	}
	return false
}

// unitCount is the number of units of the layout.
func (l *layout) unitCount() int {
	if l.units != nil {
		return len(l.units)
	}
	return len(l.comps)
}
