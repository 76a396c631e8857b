package server

import (
	"context"
	"testing"

	"github.com/pulsekpi/pulse/auth"
)

// A scope is computed once per (role, employee) until the cache is
// cleared (a transform run landed); different people never share one.
func TestScopeCache(t *testing.T) {
	var sc scopeCache
	calls := map[string]int{}
	compute := func(_ context.Context, p auth.Principal) (auth.Scope, error) {
		calls[p.EmployeeID]++
		return auth.Scope{}, nil
	}
	ctx := context.Background()
	m1 := auth.Principal{Role: auth.RoleManager, EmployeeID: "m1"}
	m2 := auth.Principal{Role: auth.RoleManager, EmployeeID: "m2"}
	for range 3 {
		sc.get(ctx, m1, compute)
	}
	sc.get(ctx, m2, compute)
	if calls["m1"] != 1 || calls["m2"] != 1 {
		t.Errorf("computed %v, want once each", calls)
	}
	sc.clear()
	sc.get(ctx, m1, compute)
	if calls["m1"] != 2 {
		t.Errorf("after clear: m1 computed %d times, want 2", calls["m1"])
	}
}
