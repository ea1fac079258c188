package compliance

import (
	"math"
	"slices"
)

// percentUnits is the resolution of percentages: hundredths of a percent.
const percentUnits = 10000

// Percentages returns each count's share of their sum in percent with two decimals, rounded
// as DESIGN.md §1 asks: a non-zero count never shows as 0 %, and the shares sum to exactly
// 100 % (when the sum is not zero). The exact shares are floored to hundredths, every
// non-zero count gets at least one hundredth, and the hundredths left over (or taken back)
// go to the largest remainders (come from the largest shares), so no share moves by more
// than the rounding needs.
func Percentages(counts []int64) []float64 {
	out := make([]float64, len(counts))
	var total int64
	for _, n := range counts {
		total += max(n, 0)
	}
	if total == 0 {
		return out
	}
	units := make([]int64, len(counts))
	rem := make([]float64, len(counts))
	var sum int64
	for i, n := range counts {
		if n <= 0 {
			continue
		}
		exact := float64(n) * percentUnits / float64(total)
		units[i] = int64(math.Floor(exact))
		rem[i] = exact - float64(units[i])
		if units[i] == 0 {
			units[i], rem[i] = 1, 0
		}
		sum += units[i]
	}
	order := make([]int, 0, len(counts))
	for i, n := range counts {
		if n > 0 {
			order = append(order, i)
		}
	}
	if sum < percentUnits {
		// Largest remainder first; ties to the larger count, then the earlier index.
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case rem[a] > rem[b]:
				return -1
			case rem[a] < rem[b]:
				return 1
			}
			return int(counts[b] - counts[a])
		})
		for i := 0; sum < percentUnits; i = (i + 1) % len(order) {
			units[order[i]]++
			sum++
		}
	}
	if sum > percentUnits {
		// Only the minimum of one hundredth can overshoot: take it back from the largest
		// shares, which can spare it.
		slices.SortStableFunc(order, func(a, b int) int { return int(units[b] - units[a]) })
		for i := 0; sum > percentUnits; i = (i + 1) % len(order) {
			if units[order[i]] > 1 {
				units[order[i]]--
				sum--
			}
		}
	}
	for i, u := range units {
		out[i] = float64(u) / 100
	}
	return out
}
