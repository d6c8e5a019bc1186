/* lstm_t: lstm (lstm.c) in tensor form, after GradBench's vectorised PyTorch LSTM (python/gradbench/gradbench/evals/
 * lstm: lstm_model, lstm_predict, lstm_objective): each layer's b units are one vector per gate. ADBench's weights
 * are diagonal (one per unit), so a gate is elementwise, as in GradBench's torch.cat((inp, hidden, inp, hidden)) *
 * weight + bias, one product and one sum per gate here (no concatenation):
 *   F = logistic(in w_F + b_F), I = logistic(h w_I + b_I), O = logistic(in w_O + b_O), G = tanh(h w_G + b_G)
 *   cell <- cell F + I G,  h <- O tanh(cell)
 *   ypred = h_top out_w + out_b,  total += dot(ypred - log(sum(exp(ypred)) + 2), text[t + 1])
 * Same inputs, data, sizes, node count and hand-written gradient as lstm; the same ops in the same order per
 * unit, but each character's b terms are summed by one dot product before they join the total (lstm adds them
 * one by one), so values agree with lstm's to rounding, not bit for bit.
 * Not an AD_STEPS region, unlike lstm: its state is arrays, AD_STEPS's scalar variables (see ode_t.c); under
 * adbench --ckpt the tape engines report AD_ESTATE for it. */
#ifdef WL_META

static int lstm_t_zero(int size) { (void)size; return 0; }
const wl_info wl_info_lstm_t = {WL_lstm_t, "lstm_t", "ADBench LSTM loss, l layers x c characters, tensor form (size = table row)",
                                {1, 3}, LSTM_ROWS, lstm_n_in, lstm_n_out, lstm_n_data, lstm_t_zero, lstm_nodes,
                                lstm_init, lstm_manual, NULL, 0};

#elif defined(AD_ARR_ENGINE)

static void WL_FN(lstm_t)(ad_ctx *c, int size, const double *data, const ad_t *x, ad_t *y, ad_t *s) {
  (void)size, (void)s;
  enum { LMAX = 4 };
  const int l = (int)data[0], nc = (int)data[1], b = (int)data[2], lb = l * b;
  const double *state0 = data + 3, *seq = state0 + 2 * lb;
  if (l > LMAX) { /* the table's largest is 4 */
    y[0] = ad_const(c, __builtin_nan(""));
    return;
  }
  ad_arr P = ad_arr_stack(c, x, 8 * lb + 3 * b);
  ad_arr in_w = ad_arr_slice(c, P, 8 * lb, 8 * lb + b), out_w = ad_arr_slice(c, P, 8 * lb + b, 8 * lb + 2 * b);
  ad_arr out_b = ad_arr_slice(c, P, 8 * lb + 2 * b, 8 * lb + 3 * b);
  ad_arr hid[LMAX], cell[LMAX];
  for (int j = 0; j < l; ++j) {
    hid[j] = ad_arr_data(c, state0 + 2 * j * b, b);
    cell[j] = ad_arr_data(c, state0 + 2 * j * b + b, b);
  }
  ad_t total = ad_const(c, 0.0);
  for (int t = 0; t + 1 < nc; ++t) {
    ad_arr in = ad_arr_mul_vv(c, in_w, ad_arr_data(c, seq + t * b, b));
    for (int j = 0; j < l; ++j) {
      const int64_t o = 8 * (int64_t)j * b;
      ad_arr wF = ad_arr_slice(c, P, o, o + b), wI = ad_arr_slice(c, P, o + b, o + 2 * b);
      ad_arr wO = ad_arr_slice(c, P, o + 2 * b, o + 3 * b), wG = ad_arr_slice(c, P, o + 3 * b, o + 4 * b);
      ad_arr bF = ad_arr_slice(c, P, o + 4 * b, o + 5 * b), bI = ad_arr_slice(c, P, o + 5 * b, o + 6 * b);
      ad_arr bO = ad_arr_slice(c, P, o + 6 * b, o + 7 * b), bG = ad_arr_slice(c, P, o + 7 * b, o + 8 * b);
      ad_arr F = ad_arr_logistic(c, ad_arr_add_vv(c, ad_arr_mul_vv(c, in, wF), bF));
      ad_arr I = ad_arr_logistic(c, ad_arr_add_vv(c, ad_arr_mul_vv(c, hid[j], wI), bI));
      ad_arr O = ad_arr_logistic(c, ad_arr_add_vv(c, ad_arr_mul_vv(c, in, wO), bO));
      ad_arr G = ad_arr_tanh(c, ad_arr_add_vv(c, ad_arr_mul_vv(c, hid[j], wG), bG));
      cell[j] = ad_arr_add_vv(c, ad_arr_mul_vv(c, cell[j], F), ad_arr_mul_vv(c, I, G));
      hid[j] = ad_arr_mul_vv(c, O, ad_arr_tanh(c, cell[j]));
      in = hid[j];
    }
    ad_arr yp = ad_arr_add_vv(c, ad_arr_mul_vv(c, in, out_w), out_b);
    ad_t lse = ad_log(c, ad_add_vc(c, ad_arr_sum(c, ad_arr_exp(c, yp)), 2.0));
    ad_t term = ad_arr_dot(c, ad_arr_sub_vv_bs(c, yp, lse), ad_arr_data(c, seq + (t + 1) * b, b));
    total = t ? ad_add_vv(c, total, term) : term;
  }
  y[0] = ad_div_vc(c, total, -(double)((nc - 1) * b));
}

#else
WL_NO_ARRAYS(lstm_t)
#endif
