func.func @f(%a: tensor<8x32xf32>, %m: memref<8x32xf32>) -> (tensor<256xf32>, memref<256xf32>) {
  %e = tensor.expand_shape %a [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xf32> into tensor<8x2x16xf32>
  %c = tensor.collapse_shape %e [[0, 1, 2]] : tensor<8x2x16xf32> into tensor<256xf32>
  %mc = memref.collapse_shape %m [[0, 1]] : memref<8x32xf32> into memref<256xf32>
  return %c, %mc : tensor<256xf32>, memref<256xf32>
}
