package health

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a runner leaks a goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
