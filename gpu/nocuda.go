//go:build !cuda

package gpu

import (
	"errors"

	"kiln/kernels"
)

// ErrNoCUDA is what every entry point returns in a build without the cuda
// tag: this binary was built without CUDA, so it never links the driver.
var ErrNoCUDA = errors.New("gpu: built without CUDA (build the GPU worker with -tags cuda: make cuda)")

// CUDA reports whether this build links the CUDA driver.
const CUDA = false

// Devices fails: a build without CUDA cannot see devices.
func Devices() ([]DeviceInfo, error) { return nil, ErrNoCUDA }

// NewBackend fails: a build without CUDA has no GPU backend.
func NewBackend(Options) (kernels.Backend, error) { return nil, ErrNoCUDA }

// Open fails: a build without CUDA has no GPU backend.
func Open(Options) (*Backend, error) { return nil, ErrNoCUDA }

// DriverVersion is -1: a build without CUDA does not ask the driver.
func DriverVersion() int { return -1 }
