module attributes {nova.model = "grok1-small"} {
  func.func @prefill(%arg0: tensor<1x8xi32> {nova.name = "tokens"}, %arg1: tensor<1x8xi32> {nova.name = "positions"}, %arg2: tensor<2x1x32x2x16xbf16> {nova.name = "k_cache"}, %arg3: tensor<2x1x32x2x16xbf16> {nova.name = "v_cache"}, %arg4: tensor<1xf32> {nova.name = "temperature"}, %arg5: tensor<1xf32> {nova.name = "top_p"}, %arg6: tensor<i64> {nova.name = "seed"}, %arg7: tensor<i32> {nova.name = "step"}) -> (tensor<1xi32> {nova.name = "token"}, tensor<1xbf16> {nova.name = "prob"}, tensor<1x8xi32> {nova.name = "top_ids"}, tensor<1x8xbf16> {nova.name = "top_probs"}, tensor<1x256xbf16> {nova.name = "logits"}, tensor<2x1x32x2x16xbf16> {nova.name = "k_cache"}, tensor<2x1x32x2x16xbf16> {nova.name = "v_cache"}) {
    %value = nova.param "language_model/in_out_embed/embeddings" : tensor<256x64xf32>
    %0 = nova.embedding %value[%arg0] : tensor<256x64xf32>, tensor<1x8xi32> -> tensor<1x8x64xbf16>
    %cst = arith.constant dense<7.850000e+01> : tensor<1x8x64xbf16>
    %1 = arith.mulf %0, %cst : tensor<1x8x64xbf16>
    %extracted_slice = tensor.extract_slice %arg1[0, 0] [1, 1] [1, 1] : tensor<1x8xi32> to tensor<1xi32>
    %value_0 = nova.param "transformer/decoder_layer_0/rms_norm/scale" : tensor<64xf32>
    %2 = nova.rms_norm %1, %value_0 eps 9.99999974E-6 : tensor<1x8x64xbf16>, tensor<64xf32> -> tensor<1x8x64xbf16>
    %value_1, %scales = nova.param "transformer/decoder_layer_0/multi_head_attention/query/w" scales <per_column> : tensor<64x64xi8>, tensor<1x64xbf16>
    %3 = nova.qmatmul %2, %value_1, %scales layout <per_column> : tensor<1x8x64xbf16>, tensor<64x64xi8>, tensor<1x64xbf16> -> tensor<1x8x64xbf16>
    %value_2, %scales_3 = nova.param "transformer/decoder_layer_0/multi_head_attention/key/w" scales <per_column> : tensor<64x32xi8>, tensor<1x32xbf16>
    %4 = nova.qmatmul %2, %value_2, %scales_3 layout <per_column> : tensor<1x8x64xbf16>, tensor<64x32xi8>, tensor<1x32xbf16> -> tensor<1x8x32xbf16>
    %value_4, %scales_5 = nova.param "transformer/decoder_layer_0/multi_head_attention/value/w" scales <per_column> : tensor<64x32xi8>, tensor<1x32xbf16>
    %5 = nova.qmatmul %2, %value_4, %scales_5 layout <per_column> : tensor<1x8x64xbf16>, tensor<64x32xi8>, tensor<1x32xbf16> -> tensor<1x8x32xbf16>
    %expanded = tensor.expand_shape %3 [[0], [1], [2, 3]] output_shape [1, 8, 4, 16] : tensor<1x8x64xbf16> into tensor<1x8x4x16xbf16>
    %expanded_6 = tensor.expand_shape %4 [[0], [1], [2, 3]] output_shape [1, 8, 2, 16] : tensor<1x8x32xbf16> into tensor<1x8x2x16xbf16>
    %expanded_7 = tensor.expand_shape %5 [[0], [1], [2, 3]] output_shape [1, 8, 2, 16] : tensor<1x8x32xbf16> into tensor<1x8x2x16xbf16>
    %6 = nova.rope %expanded, %arg1 base 1.000000e+04 : tensor<1x8x4x16xbf16>, tensor<1x8xi32> -> tensor<1x8x4x16xbf16>
    %7 = nova.rope %expanded_6, %arg1 base 1.000000e+04 : tensor<1x8x2x16xbf16>, tensor<1x8xi32> -> tensor<1x8x2x16xbf16>
    %extracted_slice_8 = tensor.extract_slice %arg2[0, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<2x1x32x2x16xbf16> to tensor<1x32x2x16xbf16>
    %extracted_slice_9 = tensor.extract_slice %arg3[0, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<2x1x32x2x16xbf16> to tensor<1x32x2x16xbf16>
    %8 = nova.kv_cache_update %extracted_slice_8, %7, %extracted_slice : tensor<1x32x2x16xbf16>, tensor<1x8x2x16xbf16>, tensor<1xi32> -> tensor<1x32x2x16xbf16>
    %9 = nova.kv_cache_update %extracted_slice_9, %expanded_7, %extracted_slice : tensor<1x32x2x16xbf16>, tensor<1x8x2x16xbf16>, tensor<1xi32> -> tensor<1x32x2x16xbf16>
    %inserted_slice = tensor.insert_slice %8 into %arg2[0, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<1x32x2x16xbf16> into tensor<2x1x32x2x16xbf16>
    %inserted_slice_10 = tensor.insert_slice %9 into %arg3[0, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<1x32x2x16xbf16> into tensor<2x1x32x2x16xbf16>
    %10 = nova.attention %6, %8, %9, %extracted_slice scale 2.500000e-01 cap 3.000000e+01 : tensor<1x8x4x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1xi32> -> tensor<1x8x4x16xbf16>
    %collapsed = tensor.collapse_shape %10 [[0], [1], [2, 3]] : tensor<1x8x4x16xbf16> into tensor<1x8x64xbf16>
    %value_11, %scales_12 = nova.param "transformer/decoder_layer_0/multi_head_attention/linear/w" scales <row_blocks = 8> : tensor<64x64xi8>, tensor<8x64xbf16>
    %11 = nova.qmatmul %collapsed, %value_11, %scales_12 layout <row_blocks = 8> : tensor<1x8x64xbf16>, tensor<64x64xi8>, tensor<8x64xbf16> -> tensor<1x8x64xbf16>
    %value_13 = nova.param "transformer/decoder_layer_0/rms_norm_1/scale" : tensor<64xf32>
    %12 = nova.rms_norm %11, %value_13 eps 9.99999974E-6 : tensor<1x8x64xbf16>, tensor<64xf32> -> tensor<1x8x64xbf16>
    %13 = arith.addf %1, %12 : tensor<1x8x64xbf16>
    %value_14 = nova.param "transformer/decoder_layer_0/rms_norm_2/scale" : tensor<64xf32>
    %14 = nova.rms_norm %13, %value_14 eps 9.99999974E-6 : tensor<1x8x64xbf16>, tensor<64xf32> -> tensor<1x8x64xbf16>
    %collapsed_15 = tensor.collapse_shape %14 [[0, 1], [2]] : tensor<1x8x64xbf16> into tensor<8x64xbf16>
    %15 = arith.extf %collapsed_15 : tensor<8x64xbf16> to tensor<8x64xf32>
    %value_16 = nova.param "transformer/decoder_layer_0/router/w" : tensor<64x4xf32>
    %16 = nova.matmul %15, %value_16 : tensor<8x64xf32>, tensor<64x4xf32> -> tensor<8x4xf32>
    %gates, %indices = nova.moe_route %16 top 2 : tensor<8x4xf32> -> tensor<8x2xf32>, tensor<8x2xi32>
    %value_17, %scales_18 = nova.param "transformer/decoder_layer_0/moe/linear_v/w" scales <per_column> : tensor<4x64x128xi8>, tensor<4x1x128xbf16>
    %17 = nova.expert_qmatmul %collapsed_15, %indices, %value_17, %scales_18 layout <per_column> : tensor<8x64xbf16>, tensor<8x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<8x2x128xbf16>
    %value_19, %scales_20 = nova.param "transformer/decoder_layer_0/moe/linear/w" scales <per_column> : tensor<4x64x128xi8>, tensor<4x1x128xbf16>
    %18 = nova.expert_qmatmul %collapsed_15, %indices, %value_19, %scales_20 layout <per_column> : tensor<8x64xbf16>, tensor<8x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<8x2x128xbf16>
    %19 = arith.extf %17 : tensor<8x2x128xbf16> to tensor<8x2x128xf32>
    %20 = arith.extf %18 : tensor<8x2x128xbf16> to tensor<8x2x128xf32>
    %21 = nova.gelu %20 : tensor<8x2x128xf32>
    %22 = arith.mulf %19, %21 : tensor<8x2x128xf32>
    %value_21, %scales_22 = nova.param "transformer/decoder_layer_0/moe/linear_1/w" scales <row_blocks = 8> : tensor<4x128x64xi8>, tensor<4x8x64xbf16>
    %23 = nova.expert_qmatmul %22, %indices, %value_21, %scales_22 layout <row_blocks = 8> : tensor<8x2x128xf32>, tensor<8x2xi32>, tensor<4x128x64xi8>, tensor<4x8x64xbf16> -> tensor<8x2x64xf32>
    %24 = nova.moe_combine %23, %gates : tensor<8x2x64xf32>, tensor<8x2xf32> -> tensor<8x64xbf16>
    %expanded_23 = tensor.expand_shape %24 [[0, 1], [2]] output_shape [1, 8, 64] : tensor<8x64xbf16> into tensor<1x8x64xbf16>
    %value_24 = nova.param "transformer/decoder_layer_0/rms_norm_3/scale" : tensor<64xf32>
    %25 = nova.rms_norm %expanded_23, %value_24 eps 9.99999974E-6 : tensor<1x8x64xbf16>, tensor<64xf32> -> tensor<1x8x64xbf16>
    %26 = arith.addf %13, %25 : tensor<1x8x64xbf16>
    %value_25 = nova.param "transformer/decoder_layer_1/rms_norm/scale" : tensor<64xf32>
    %27 = nova.rms_norm %26, %value_25 eps 9.99999974E-6 : tensor<1x8x64xbf16>, tensor<64xf32> -> tensor<1x8x64xbf16>
    %value_26, %scales_27 = nova.param "transformer/decoder_layer_1/multi_head_attention/query/w" scales <per_column> : tensor<64x64xi8>, tensor<1x64xbf16>
    %28 = nova.qmatmul %27, %value_26, %scales_27 layout <per_column> : tensor<1x8x64xbf16>, tensor<64x64xi8>, tensor<1x64xbf16> -> tensor<1x8x64xbf16>
    %value_28, %scales_29 = nova.param "transformer/decoder_layer_1/multi_head_attention/key/w" scales <per_column> : tensor<64x32xi8>, tensor<1x32xbf16>
    %29 = nova.qmatmul %27, %value_28, %scales_29 layout <per_column> : tensor<1x8x64xbf16>, tensor<64x32xi8>, tensor<1x32xbf16> -> tensor<1x8x32xbf16>
    %value_30, %scales_31 = nova.param "transformer/decoder_layer_1/multi_head_attention/value/w" scales <per_column> : tensor<64x32xi8>, tensor<1x32xbf16>
    %30 = nova.qmatmul %27, %value_30, %scales_31 layout <per_column> : tensor<1x8x64xbf16>, tensor<64x32xi8>, tensor<1x32xbf16> -> tensor<1x8x32xbf16>
    %expanded_32 = tensor.expand_shape %28 [[0], [1], [2, 3]] output_shape [1, 8, 4, 16] : tensor<1x8x64xbf16> into tensor<1x8x4x16xbf16>
    %expanded_33 = tensor.expand_shape %29 [[0], [1], [2, 3]] output_shape [1, 8, 2, 16] : tensor<1x8x32xbf16> into tensor<1x8x2x16xbf16>
    %expanded_34 = tensor.expand_shape %30 [[0], [1], [2, 3]] output_shape [1, 8, 2, 16] : tensor<1x8x32xbf16> into tensor<1x8x2x16xbf16>
    %31 = nova.rope %expanded_32, %arg1 base 1.000000e+04 : tensor<1x8x4x16xbf16>, tensor<1x8xi32> -> tensor<1x8x4x16xbf16>
    %32 = nova.rope %expanded_33, %arg1 base 1.000000e+04 : tensor<1x8x2x16xbf16>, tensor<1x8xi32> -> tensor<1x8x2x16xbf16>
    %extracted_slice_35 = tensor.extract_slice %inserted_slice[1, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<2x1x32x2x16xbf16> to tensor<1x32x2x16xbf16>
    %extracted_slice_36 = tensor.extract_slice %inserted_slice_10[1, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<2x1x32x2x16xbf16> to tensor<1x32x2x16xbf16>
    %33 = nova.kv_cache_update %extracted_slice_35, %32, %extracted_slice : tensor<1x32x2x16xbf16>, tensor<1x8x2x16xbf16>, tensor<1xi32> -> tensor<1x32x2x16xbf16>
    %34 = nova.kv_cache_update %extracted_slice_36, %expanded_34, %extracted_slice : tensor<1x32x2x16xbf16>, tensor<1x8x2x16xbf16>, tensor<1xi32> -> tensor<1x32x2x16xbf16>
    %inserted_slice_37 = tensor.insert_slice %33 into %inserted_slice[1, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<1x32x2x16xbf16> into tensor<2x1x32x2x16xbf16>
    %inserted_slice_38 = tensor.insert_slice %34 into %inserted_slice_10[1, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<1x32x2x16xbf16> into tensor<2x1x32x2x16xbf16>
    %35 = nova.attention %31, %33, %34, %extracted_slice scale 2.500000e-01 cap 3.000000e+01 : tensor<1x8x4x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1xi32> -> tensor<1x8x4x16xbf16>
    %collapsed_39 = tensor.collapse_shape %35 [[0], [1], [2, 3]] : tensor<1x8x4x16xbf16> into tensor<1x8x64xbf16>
    %value_40, %scales_41 = nova.param "transformer/decoder_layer_1/multi_head_attention/linear/w" scales <row_blocks = 8> : tensor<64x64xi8>, tensor<8x64xbf16>
    %36 = nova.qmatmul %collapsed_39, %value_40, %scales_41 layout <row_blocks = 8> : tensor<1x8x64xbf16>, tensor<64x64xi8>, tensor<8x64xbf16> -> tensor<1x8x64xbf16>
    %value_42 = nova.param "transformer/decoder_layer_1/rms_norm_1/scale" : tensor<64xf32>
    %37 = nova.rms_norm %36, %value_42 eps 9.99999974E-6 : tensor<1x8x64xbf16>, tensor<64xf32> -> tensor<1x8x64xbf16>
    %38 = arith.addf %26, %37 : tensor<1x8x64xbf16>
    %value_43 = nova.param "transformer/decoder_layer_1/rms_norm_2/scale" : tensor<64xf32>
    %39 = nova.rms_norm %38, %value_43 eps 9.99999974E-6 : tensor<1x8x64xbf16>, tensor<64xf32> -> tensor<1x8x64xbf16>
    %collapsed_44 = tensor.collapse_shape %39 [[0, 1], [2]] : tensor<1x8x64xbf16> into tensor<8x64xbf16>
    %40 = arith.extf %collapsed_44 : tensor<8x64xbf16> to tensor<8x64xf32>
    %value_45 = nova.param "transformer/decoder_layer_1/router/w" : tensor<64x4xf32>
    %41 = nova.matmul %40, %value_45 : tensor<8x64xf32>, tensor<64x4xf32> -> tensor<8x4xf32>
    %gates_46, %indices_47 = nova.moe_route %41 top 2 : tensor<8x4xf32> -> tensor<8x2xf32>, tensor<8x2xi32>
    %value_48, %scales_49 = nova.param "transformer/decoder_layer_1/moe/linear_v/w" scales <per_column> : tensor<4x64x128xi8>, tensor<4x1x128xbf16>
    %42 = nova.expert_qmatmul %collapsed_44, %indices_47, %value_48, %scales_49 layout <per_column> : tensor<8x64xbf16>, tensor<8x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<8x2x128xbf16>
    %value_50, %scales_51 = nova.param "transformer/decoder_layer_1/moe/linear/w" scales <per_column> : tensor<4x64x128xi8>, tensor<4x1x128xbf16>
    %43 = nova.expert_qmatmul %collapsed_44, %indices_47, %value_50, %scales_51 layout <per_column> : tensor<8x64xbf16>, tensor<8x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<8x2x128xbf16>
    %44 = arith.extf %42 : tensor<8x2x128xbf16> to tensor<8x2x128xf32>
    %45 = arith.extf %43 : tensor<8x2x128xbf16> to tensor<8x2x128xf32>
    %46 = nova.gelu %45 : tensor<8x2x128xf32>
    %47 = arith.mulf %44, %46 : tensor<8x2x128xf32>
    %value_52, %scales_53 = nova.param "transformer/decoder_layer_1/moe/linear_1/w" scales <row_blocks = 8> : tensor<4x128x64xi8>, tensor<4x8x64xbf16>
    %48 = nova.expert_qmatmul %47, %indices_47, %value_52, %scales_53 layout <row_blocks = 8> : tensor<8x2x128xf32>, tensor<8x2xi32>, tensor<4x128x64xi8>, tensor<4x8x64xbf16> -> tensor<8x2x64xf32>
    %49 = nova.moe_combine %48, %gates_46 : tensor<8x2x64xf32>, tensor<8x2xf32> -> tensor<8x64xbf16>
    %expanded_54 = tensor.expand_shape %49 [[0, 1], [2]] output_shape [1, 8, 64] : tensor<8x64xbf16> into tensor<1x8x64xbf16>
    %value_55 = nova.param "transformer/decoder_layer_1/rms_norm_3/scale" : tensor<64xf32>
    %50 = nova.rms_norm %expanded_54, %value_55 eps 9.99999974E-6 : tensor<1x8x64xbf16>, tensor<64xf32> -> tensor<1x8x64xbf16>
    %51 = arith.addf %38, %50 : tensor<1x8x64xbf16>
    %value_56 = nova.param "language_model/rms_norm/scale" : tensor<64xf32>
    %52 = nova.rms_norm %51, %value_56 eps 9.99999974E-6 : tensor<1x8x64xbf16>, tensor<64xf32> -> tensor<1x8x64xbf16>
    %extracted_slice_57 = tensor.extract_slice %52[0, 7, 0] [1, 1, 64] [1, 1, 1] : tensor<1x8x64xbf16> to tensor<1x64xbf16>
    %53 = arith.truncf %value : tensor<256x64xf32> to tensor<256x64xbf16>
    %54 = nova.matmul %extracted_slice_57, %53 transpose_rhs : tensor<1x64xbf16>, tensor<256x64xbf16> -> tensor<1x256xbf16>
    %cst_58 = arith.constant dense<5.781250e-01> : tensor<1x256xbf16>
    %55 = arith.mulf %54, %cst_58 : tensor<1x256xbf16>
    %token, %prob, %top_ids, %top_probs = nova.sample %55, %arg4, %arg5 seed %arg6 step %arg7 top_k 8 : (tensor<1x256xbf16>, tensor<1xf32>, tensor<1xf32>, tensor<i64>, tensor<i32>) -> (tensor<1xi32>, tensor<1xbf16>, tensor<1x8xi32>, tensor<1x8xbf16>)
    return %token, %prob, %top_ids, %top_probs, %55, %inserted_slice_37, %inserted_slice_38 : tensor<1xi32>, tensor<1xbf16>, tensor<1x8xi32>, tensor<1x8xbf16>, tensor<1x256xbf16>, tensor<2x1x32x2x16xbf16>, tensor<2x1x32x2x16xbf16>
  }
  func.func @decode(%arg0: tensor<1x1xi32> {nova.name = "tokens"}, %arg1: tensor<1x1xi32> {nova.name = "positions"}, %arg2: tensor<2x1x32x2x16xbf16> {nova.name = "k_cache"}, %arg3: tensor<2x1x32x2x16xbf16> {nova.name = "v_cache"}, %arg4: tensor<1xf32> {nova.name = "temperature"}, %arg5: tensor<1xf32> {nova.name = "top_p"}, %arg6: tensor<i64> {nova.name = "seed"}, %arg7: tensor<i32> {nova.name = "step"}) -> (tensor<1xi32> {nova.name = "token"}, tensor<1xbf16> {nova.name = "prob"}, tensor<1x8xi32> {nova.name = "top_ids"}, tensor<1x8xbf16> {nova.name = "top_probs"}, tensor<1x256xbf16> {nova.name = "logits"}, tensor<2x1x32x2x16xbf16> {nova.name = "k_cache"}, tensor<2x1x32x2x16xbf16> {nova.name = "v_cache"}) {
    %value = nova.param "language_model/in_out_embed/embeddings" : tensor<256x64xf32>
    %0 = nova.embedding %value[%arg0] : tensor<256x64xf32>, tensor<1x1xi32> -> tensor<1x1x64xbf16>
    %cst = arith.constant dense<7.850000e+01> : tensor<1x1x64xbf16>
    %1 = arith.mulf %0, %cst : tensor<1x1x64xbf16>
    %extracted_slice = tensor.extract_slice %arg1[0, 0] [1, 1] [1, 1] : tensor<1x1xi32> to tensor<1xi32>
    %value_0 = nova.param "transformer/decoder_layer_0/rms_norm/scale" : tensor<64xf32>
    %2 = nova.rms_norm %1, %value_0 eps 9.99999974E-6 : tensor<1x1x64xbf16>, tensor<64xf32> -> tensor<1x1x64xbf16>
    %value_1, %scales = nova.param "transformer/decoder_layer_0/multi_head_attention/query/w" scales <per_column> : tensor<64x64xi8>, tensor<1x64xbf16>
    %3 = nova.qmatmul %2, %value_1, %scales layout <per_column> : tensor<1x1x64xbf16>, tensor<64x64xi8>, tensor<1x64xbf16> -> tensor<1x1x64xbf16>
    %value_2, %scales_3 = nova.param "transformer/decoder_layer_0/multi_head_attention/key/w" scales <per_column> : tensor<64x32xi8>, tensor<1x32xbf16>
    %4 = nova.qmatmul %2, %value_2, %scales_3 layout <per_column> : tensor<1x1x64xbf16>, tensor<64x32xi8>, tensor<1x32xbf16> -> tensor<1x1x32xbf16>
    %value_4, %scales_5 = nova.param "transformer/decoder_layer_0/multi_head_attention/value/w" scales <per_column> : tensor<64x32xi8>, tensor<1x32xbf16>
    %5 = nova.qmatmul %2, %value_4, %scales_5 layout <per_column> : tensor<1x1x64xbf16>, tensor<64x32xi8>, tensor<1x32xbf16> -> tensor<1x1x32xbf16>
    %expanded = tensor.expand_shape %3 [[0], [1], [2, 3]] output_shape [1, 1, 4, 16] : tensor<1x1x64xbf16> into tensor<1x1x4x16xbf16>
    %expanded_6 = tensor.expand_shape %4 [[0], [1], [2, 3]] output_shape [1, 1, 2, 16] : tensor<1x1x32xbf16> into tensor<1x1x2x16xbf16>
    %expanded_7 = tensor.expand_shape %5 [[0], [1], [2, 3]] output_shape [1, 1, 2, 16] : tensor<1x1x32xbf16> into tensor<1x1x2x16xbf16>
    %6 = nova.rope %expanded, %arg1 base 1.000000e+04 : tensor<1x1x4x16xbf16>, tensor<1x1xi32> -> tensor<1x1x4x16xbf16>
    %7 = nova.rope %expanded_6, %arg1 base 1.000000e+04 : tensor<1x1x2x16xbf16>, tensor<1x1xi32> -> tensor<1x1x2x16xbf16>
    %extracted_slice_8 = tensor.extract_slice %arg2[0, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<2x1x32x2x16xbf16> to tensor<1x32x2x16xbf16>
    %extracted_slice_9 = tensor.extract_slice %arg3[0, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<2x1x32x2x16xbf16> to tensor<1x32x2x16xbf16>
    %8 = nova.kv_cache_update %extracted_slice_8, %7, %extracted_slice : tensor<1x32x2x16xbf16>, tensor<1x1x2x16xbf16>, tensor<1xi32> -> tensor<1x32x2x16xbf16>
    %9 = nova.kv_cache_update %extracted_slice_9, %expanded_7, %extracted_slice : tensor<1x32x2x16xbf16>, tensor<1x1x2x16xbf16>, tensor<1xi32> -> tensor<1x32x2x16xbf16>
    %inserted_slice = tensor.insert_slice %8 into %arg2[0, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<1x32x2x16xbf16> into tensor<2x1x32x2x16xbf16>
    %inserted_slice_10 = tensor.insert_slice %9 into %arg3[0, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<1x32x2x16xbf16> into tensor<2x1x32x2x16xbf16>
    %10 = nova.attention %6, %8, %9, %extracted_slice scale 2.500000e-01 cap 3.000000e+01 : tensor<1x1x4x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1xi32> -> tensor<1x1x4x16xbf16>
    %collapsed = tensor.collapse_shape %10 [[0], [1], [2, 3]] : tensor<1x1x4x16xbf16> into tensor<1x1x64xbf16>
    %value_11, %scales_12 = nova.param "transformer/decoder_layer_0/multi_head_attention/linear/w" scales <row_blocks = 8> : tensor<64x64xi8>, tensor<8x64xbf16>
    %11 = nova.qmatmul %collapsed, %value_11, %scales_12 layout <row_blocks = 8> : tensor<1x1x64xbf16>, tensor<64x64xi8>, tensor<8x64xbf16> -> tensor<1x1x64xbf16>
    %value_13 = nova.param "transformer/decoder_layer_0/rms_norm_1/scale" : tensor<64xf32>
    %12 = nova.rms_norm %11, %value_13 eps 9.99999974E-6 : tensor<1x1x64xbf16>, tensor<64xf32> -> tensor<1x1x64xbf16>
    %13 = arith.addf %1, %12 : tensor<1x1x64xbf16>
    %value_14 = nova.param "transformer/decoder_layer_0/rms_norm_2/scale" : tensor<64xf32>
    %14 = nova.rms_norm %13, %value_14 eps 9.99999974E-6 : tensor<1x1x64xbf16>, tensor<64xf32> -> tensor<1x1x64xbf16>
    %collapsed_15 = tensor.collapse_shape %14 [[0], [1, 2]] : tensor<1x1x64xbf16> into tensor<1x64xbf16>
    %15 = arith.extf %collapsed_15 : tensor<1x64xbf16> to tensor<1x64xf32>
    %value_16 = nova.param "transformer/decoder_layer_0/router/w" : tensor<64x4xf32>
    %16 = nova.matmul %15, %value_16 : tensor<1x64xf32>, tensor<64x4xf32> -> tensor<1x4xf32>
    %gates, %indices = nova.moe_route %16 top 2 : tensor<1x4xf32> -> tensor<1x2xf32>, tensor<1x2xi32>
    %value_17, %scales_18 = nova.param "transformer/decoder_layer_0/moe/linear_v/w" scales <per_column> : tensor<4x64x128xi8>, tensor<4x1x128xbf16>
    %17 = nova.expert_qmatmul %collapsed_15, %indices, %value_17, %scales_18 layout <per_column> : tensor<1x64xbf16>, tensor<1x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<1x2x128xbf16>
    %value_19, %scales_20 = nova.param "transformer/decoder_layer_0/moe/linear/w" scales <per_column> : tensor<4x64x128xi8>, tensor<4x1x128xbf16>
    %18 = nova.expert_qmatmul %collapsed_15, %indices, %value_19, %scales_20 layout <per_column> : tensor<1x64xbf16>, tensor<1x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<1x2x128xbf16>
    %19 = arith.extf %17 : tensor<1x2x128xbf16> to tensor<1x2x128xf32>
    %20 = arith.extf %18 : tensor<1x2x128xbf16> to tensor<1x2x128xf32>
    %21 = nova.gelu %20 : tensor<1x2x128xf32>
    %22 = arith.mulf %19, %21 : tensor<1x2x128xf32>
    %value_21, %scales_22 = nova.param "transformer/decoder_layer_0/moe/linear_1/w" scales <row_blocks = 8> : tensor<4x128x64xi8>, tensor<4x8x64xbf16>
    %23 = nova.expert_qmatmul %22, %indices, %value_21, %scales_22 layout <row_blocks = 8> : tensor<1x2x128xf32>, tensor<1x2xi32>, tensor<4x128x64xi8>, tensor<4x8x64xbf16> -> tensor<1x2x64xf32>
    %24 = nova.moe_combine %23, %gates : tensor<1x2x64xf32>, tensor<1x2xf32> -> tensor<1x64xbf16>
    %expanded_23 = tensor.expand_shape %24 [[0], [1, 2]] output_shape [1, 1, 64] : tensor<1x64xbf16> into tensor<1x1x64xbf16>
    %value_24 = nova.param "transformer/decoder_layer_0/rms_norm_3/scale" : tensor<64xf32>
    %25 = nova.rms_norm %expanded_23, %value_24 eps 9.99999974E-6 : tensor<1x1x64xbf16>, tensor<64xf32> -> tensor<1x1x64xbf16>
    %26 = arith.addf %13, %25 : tensor<1x1x64xbf16>
    %value_25 = nova.param "transformer/decoder_layer_1/rms_norm/scale" : tensor<64xf32>
    %27 = nova.rms_norm %26, %value_25 eps 9.99999974E-6 : tensor<1x1x64xbf16>, tensor<64xf32> -> tensor<1x1x64xbf16>
    %value_26, %scales_27 = nova.param "transformer/decoder_layer_1/multi_head_attention/query/w" scales <per_column> : tensor<64x64xi8>, tensor<1x64xbf16>
    %28 = nova.qmatmul %27, %value_26, %scales_27 layout <per_column> : tensor<1x1x64xbf16>, tensor<64x64xi8>, tensor<1x64xbf16> -> tensor<1x1x64xbf16>
    %value_28, %scales_29 = nova.param "transformer/decoder_layer_1/multi_head_attention/key/w" scales <per_column> : tensor<64x32xi8>, tensor<1x32xbf16>
    %29 = nova.qmatmul %27, %value_28, %scales_29 layout <per_column> : tensor<1x1x64xbf16>, tensor<64x32xi8>, tensor<1x32xbf16> -> tensor<1x1x32xbf16>
    %value_30, %scales_31 = nova.param "transformer/decoder_layer_1/multi_head_attention/value/w" scales <per_column> : tensor<64x32xi8>, tensor<1x32xbf16>
    %30 = nova.qmatmul %27, %value_30, %scales_31 layout <per_column> : tensor<1x1x64xbf16>, tensor<64x32xi8>, tensor<1x32xbf16> -> tensor<1x1x32xbf16>
    %expanded_32 = tensor.expand_shape %28 [[0], [1], [2, 3]] output_shape [1, 1, 4, 16] : tensor<1x1x64xbf16> into tensor<1x1x4x16xbf16>
    %expanded_33 = tensor.expand_shape %29 [[0], [1], [2, 3]] output_shape [1, 1, 2, 16] : tensor<1x1x32xbf16> into tensor<1x1x2x16xbf16>
    %expanded_34 = tensor.expand_shape %30 [[0], [1], [2, 3]] output_shape [1, 1, 2, 16] : tensor<1x1x32xbf16> into tensor<1x1x2x16xbf16>
    %31 = nova.rope %expanded_32, %arg1 base 1.000000e+04 : tensor<1x1x4x16xbf16>, tensor<1x1xi32> -> tensor<1x1x4x16xbf16>
    %32 = nova.rope %expanded_33, %arg1 base 1.000000e+04 : tensor<1x1x2x16xbf16>, tensor<1x1xi32> -> tensor<1x1x2x16xbf16>
    %extracted_slice_35 = tensor.extract_slice %inserted_slice[1, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<2x1x32x2x16xbf16> to tensor<1x32x2x16xbf16>
    %extracted_slice_36 = tensor.extract_slice %inserted_slice_10[1, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<2x1x32x2x16xbf16> to tensor<1x32x2x16xbf16>
    %33 = nova.kv_cache_update %extracted_slice_35, %32, %extracted_slice : tensor<1x32x2x16xbf16>, tensor<1x1x2x16xbf16>, tensor<1xi32> -> tensor<1x32x2x16xbf16>
    %34 = nova.kv_cache_update %extracted_slice_36, %expanded_34, %extracted_slice : tensor<1x32x2x16xbf16>, tensor<1x1x2x16xbf16>, tensor<1xi32> -> tensor<1x32x2x16xbf16>
    %inserted_slice_37 = tensor.insert_slice %33 into %inserted_slice[1, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<1x32x2x16xbf16> into tensor<2x1x32x2x16xbf16>
    %inserted_slice_38 = tensor.insert_slice %34 into %inserted_slice_10[1, 0, 0, 0, 0] [1, 1, 32, 2, 16] [1, 1, 1, 1, 1] : tensor<1x32x2x16xbf16> into tensor<2x1x32x2x16xbf16>
    %35 = nova.attention %31, %33, %34, %extracted_slice scale 2.500000e-01 cap 3.000000e+01 : tensor<1x1x4x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1x32x2x16xbf16>, tensor<1xi32> -> tensor<1x1x4x16xbf16>
    %collapsed_39 = tensor.collapse_shape %35 [[0], [1], [2, 3]] : tensor<1x1x4x16xbf16> into tensor<1x1x64xbf16>
    %value_40, %scales_41 = nova.param "transformer/decoder_layer_1/multi_head_attention/linear/w" scales <row_blocks = 8> : tensor<64x64xi8>, tensor<8x64xbf16>
    %36 = nova.qmatmul %collapsed_39, %value_40, %scales_41 layout <row_blocks = 8> : tensor<1x1x64xbf16>, tensor<64x64xi8>, tensor<8x64xbf16> -> tensor<1x1x64xbf16>
    %value_42 = nova.param "transformer/decoder_layer_1/rms_norm_1/scale" : tensor<64xf32>
    %37 = nova.rms_norm %36, %value_42 eps 9.99999974E-6 : tensor<1x1x64xbf16>, tensor<64xf32> -> tensor<1x1x64xbf16>
    %38 = arith.addf %26, %37 : tensor<1x1x64xbf16>
    %value_43 = nova.param "transformer/decoder_layer_1/rms_norm_2/scale" : tensor<64xf32>
    %39 = nova.rms_norm %38, %value_43 eps 9.99999974E-6 : tensor<1x1x64xbf16>, tensor<64xf32> -> tensor<1x1x64xbf16>
    %collapsed_44 = tensor.collapse_shape %39 [[0], [1, 2]] : tensor<1x1x64xbf16> into tensor<1x64xbf16>
    %40 = arith.extf %collapsed_44 : tensor<1x64xbf16> to tensor<1x64xf32>
    %value_45 = nova.param "transformer/decoder_layer_1/router/w" : tensor<64x4xf32>
    %41 = nova.matmul %40, %value_45 : tensor<1x64xf32>, tensor<64x4xf32> -> tensor<1x4xf32>
    %gates_46, %indices_47 = nova.moe_route %41 top 2 : tensor<1x4xf32> -> tensor<1x2xf32>, tensor<1x2xi32>
    %value_48, %scales_49 = nova.param "transformer/decoder_layer_1/moe/linear_v/w" scales <per_column> : tensor<4x64x128xi8>, tensor<4x1x128xbf16>
    %42 = nova.expert_qmatmul %collapsed_44, %indices_47, %value_48, %scales_49 layout <per_column> : tensor<1x64xbf16>, tensor<1x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<1x2x128xbf16>
    %value_50, %scales_51 = nova.param "transformer/decoder_layer_1/moe/linear/w" scales <per_column> : tensor<4x64x128xi8>, tensor<4x1x128xbf16>
    %43 = nova.expert_qmatmul %collapsed_44, %indices_47, %value_50, %scales_51 layout <per_column> : tensor<1x64xbf16>, tensor<1x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<1x2x128xbf16>
    %44 = arith.extf %42 : tensor<1x2x128xbf16> to tensor<1x2x128xf32>
    %45 = arith.extf %43 : tensor<1x2x128xbf16> to tensor<1x2x128xf32>
    %46 = nova.gelu %45 : tensor<1x2x128xf32>
    %47 = arith.mulf %44, %46 : tensor<1x2x128xf32>
    %value_52, %scales_53 = nova.param "transformer/decoder_layer_1/moe/linear_1/w" scales <row_blocks = 8> : tensor<4x128x64xi8>, tensor<4x8x64xbf16>
    %48 = nova.expert_qmatmul %47, %indices_47, %value_52, %scales_53 layout <row_blocks = 8> : tensor<1x2x128xf32>, tensor<1x2xi32>, tensor<4x128x64xi8>, tensor<4x8x64xbf16> -> tensor<1x2x64xf32>
    %49 = nova.moe_combine %48, %gates_46 : tensor<1x2x64xf32>, tensor<1x2xf32> -> tensor<1x64xbf16>
    %expanded_54 = tensor.expand_shape %49 [[0], [1, 2]] output_shape [1, 1, 64] : tensor<1x64xbf16> into tensor<1x1x64xbf16>
    %value_55 = nova.param "transformer/decoder_layer_1/rms_norm_3/scale" : tensor<64xf32>
    %50 = nova.rms_norm %expanded_54, %value_55 eps 9.99999974E-6 : tensor<1x1x64xbf16>, tensor<64xf32> -> tensor<1x1x64xbf16>
    %51 = arith.addf %38, %50 : tensor<1x1x64xbf16>
    %value_56 = nova.param "language_model/rms_norm/scale" : tensor<64xf32>
    %52 = nova.rms_norm %51, %value_56 eps 9.99999974E-6 : tensor<1x1x64xbf16>, tensor<64xf32> -> tensor<1x1x64xbf16>
    %extracted_slice_57 = tensor.extract_slice %52[0, 0, 0] [1, 1, 64] [1, 1, 1] : tensor<1x1x64xbf16> to tensor<1x64xbf16>
    %53 = arith.truncf %value : tensor<256x64xf32> to tensor<256x64xbf16>
    %54 = nova.matmul %extracted_slice_57, %53 transpose_rhs : tensor<1x64xbf16>, tensor<256x64xbf16> -> tensor<1x256xbf16>
    %cst_58 = arith.constant dense<5.781250e-01> : tensor<1x256xbf16>
    %55 = arith.mulf %54, %cst_58 : tensor<1x256xbf16>
    %token, %prob, %top_ids, %top_probs = nova.sample %55, %arg4, %arg5 seed %arg6 step %arg7 top_k 8 : (tensor<1x256xbf16>, tensor<1xf32>, tensor<1xf32>, tensor<i64>, tensor<i32>) -> (tensor<1xi32>, tensor<1xbf16>, tensor<1x8xi32>, tensor<1x8xbf16>)
    return %token, %prob, %top_ids, %top_probs, %55, %inserted_slice_37, %inserted_slice_38 : tensor<1xi32>, tensor<1xbf16>, tensor<1x8xi32>, tensor<1x8xbf16>, tensor<1x256xbf16>, tensor<2x1x32x2x16xbf16>, tensor<2x1x32x2x16xbf16>
  }
}

