/* mlp_t: mlp (mlp.c) in tensor form: per sample s, loss += (w2 . tanh(W1 u_s + b1) + b2 - t_s)^2.
 * Same inputs, data, sizes, node count and hand-written gradient as mlp; the matrix-vector product and the dot sum
 * in mlp's order, so the value is bit-identical to mlp's. */
#ifdef WL_META

const wl_info wl_info_mlp_t = {WL_mlp_t, "mlp_t", "MSE of a tanh MLP (4 features, H hidden, 8 samples), tensor form",
                               {2, 100}, 10000000, mlp_n_in, mlp_n_out, mlp_n_data, mlp_zero, mlp_nodes, mlp_init,
                               mlp_manual, NULL, 0};

#elif defined(AD_ARR_ENGINE)

static void WL_FN(mlp_t)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)s;
  enum { D = 4, S = 8 };
  int h = size < 1 ? 1 : size;
  ad_arr P = ad_arr_stack(c, x, 6 * h + 1);
  ad_arr W1 = ad_arr_reshape(c, ad_arr_slice(c, P, 0, h * D), h, D);
  ad_arr b1 = ad_arr_slice(c, P, h * D, h * (D + 1)), w2 = ad_arr_slice(c, P, h * (D + 1), h * (D + 2));
  ad_t b2 = x[h * (D + 2)];
  ad_t loss = ad_const(c, 0.0);
  for (int k = 0; k < S; ++k) {
    const double *u = data + k * (D + 1);
    ad_arr a = ad_arr_tanh(c, ad_arr_add_vv(c, ad_arr_mv(c, W1, 0, ad_arr_data(c, u, D)), b1));
    ad_t e = ad_sub_vc(c, ad_add_vv(c, ad_arr_dot(c, w2, a), b2), u[D]);
    loss = k == 0 ? ad_sqr(c, e) : ad_add_vv(c, loss, ad_sqr(c, e));
  }
  y[0] = ad_mul_vc(c, loss, 1.0 / S);
}

#else
WL_NO_ARRAYS(mlp_t)
#endif
