// Outputs that would share one buffer without nova-distinct-results: two
// softmaxes CSE merges, an input returned unchanged (a KV cache nobody
// updated), a parameter and a constant each returned twice.
func.func @passthrough(%x: tensor<2x4xf32> {nova.name = "x"}, %cache: tensor<2x4xf32> {nova.name = "cache"})
    -> (tensor<2x4xf32> {nova.name = "a"}, tensor<2x4xf32> {nova.name = "b"}, tensor<2x4xf32> {nova.name = "cache_out"},
        tensor<4xf32> {nova.name = "w1"}, tensor<4xf32> {nova.name = "w2"}, tensor<2xi32> {nova.name = "k1"}, tensor<2xi32> {nova.name = "k2"}) {
  %w = nova.param "m/w" : tensor<4xf32>
  %a = nova.softmax %x axis 1 : tensor<2x4xf32>
  %b = nova.softmax %x axis 1 : tensor<2x4xf32>
  %k = arith.constant dense<[7, -3]> : tensor<2xi32>
  return %a, %b, %cache, %w, %w, %k, %k : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2xi32>, tensor<2xi32>
}
