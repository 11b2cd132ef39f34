// Returns its inputs unchanged: .npy in, .npy out, one per dtype.
func.func @echo(%f32: tensor<2x3xf32> {nova.name = "f32"},
                %f16: tensor<4xf16> {nova.name = "f16"},
                %i8: tensor<2x2xi8> {nova.name = "i8"},
                %i32: tensor<3xi32> {nova.name = "i32"},
                %i64: tensor<2xi64> {nova.name = "i64"},
                %b: tensor<3xi1> {nova.name = "bool"},
                %s: tensor<i64> {nova.name = "scalar"})
    -> (tensor<2x3xf32> {nova.name = "f32"}, tensor<4xf16> {nova.name = "f16"},
        tensor<2x2xi8> {nova.name = "i8"}, tensor<3xi32> {nova.name = "i32"},
        tensor<2xi64> {nova.name = "i64"}, tensor<3xi1> {nova.name = "bool"},
        tensor<i64> {nova.name = "scalar"}) {
  return %f32, %f16, %i8, %i32, %i64, %b, %s
      : tensor<2x3xf32>, tensor<4xf16>, tensor<2x2xi8>, tensor<3xi32>,
        tensor<2xi64>, tensor<3xi1>, tensor<i64>
}
