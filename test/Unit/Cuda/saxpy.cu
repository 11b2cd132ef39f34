// SPDX-License-Identifier: Apache-2.0
// Test data for the driver loader: y = a * x + y. (Nova's own kernels come
// from the NVVM lowering; this one only exercises module loading/launch.)
extern "C" __global__ void saxpy(float a, const float *x, float *y, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    y[i] = a * x[i] + y[i];
}
