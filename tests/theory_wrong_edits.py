"""Typical wrong edits of theory/theory.tex, most of them mistakes students make, each with the
check of the source that must reject it: (check, [(old, new), ...]).  The first ten are issue
20's; the six after them issue 28's, which passed the tests before the statement checks."""

MUTATIONS = [
    ("critical-derivation", [(r"x\,(6 - 3x) = 0$", r"x\,(6 - 2x) = 0$"), ("$x = 0$ or $x = 2$", "$x = 0$ or $x = 3$")]),
    ("relu-subdifferential", [(r"\alpha \in [0,1]", r"\alpha \in [-1,1]")]),
    ("relu-one-sided", [(r"\varphi'_+(0) = 1 + x^2$", r"\varphi'_+(0) = 1 + x$")]),
    ("sketch-answers", [(r"\emph{training error rises}", r"\emph{training error falls}")]),
    ("identity", [("= 4x_1x_2,", "= 2x_1x_2,")]),
    ("softmax-jacobian", [(r"$\pd{f_k}{a_l\lay{3}} = f_k\,(\ind{k = l} - f_l)$", r"$\pd{f_k}{a_l\lay{3}} = f_k\,(1 - f_k)$")]),
    ("two-over-k", [(r"= \frac{2}{K} L", r"= \frac{1}{K} L")]),
    ("critical-points", [("local minimum & $-8.00$", "local maximum & $-8.00$")]),
    ("update", [(r"\bigg|_{\theta(r)}", r"\bigg|_{\theta(r+1)}")]),
    ("best-possible", [(r"\times 9/10", r"\times 8/10")]),
    # issue 28: two in the prose's mathematics, four in words that carry a fact
    ("statements-1.3", [(r"strength about $1/(\eta\tau)$", r"strength about $\eta\tau$")]),
    ("statements-B", [("multiplied by $2/K$", "multiplied by $1/K$")]),
    ("statements-1.1", [("becomes the zero matrix", "becomes the identity matrix")]),
    ("statements-1.2", [("minimum-norm subgradient", "maximum-norm subgradient")]),
    ("statements-1.5", [("the symmetric Jacobian", "the antisymmetric Jacobian")]),
    ("statements-1.2", [("hit with probability zero", "hit with probability one half")]),
    # 1.1
    ("function", [(r"xy\,(x + y - 6)$", r"xy\,(x + y + 6)$")]),
    ("gradient", [("2xy + y^2 - 6y", "2xy + y^2 - 6x")]),
    ("hessian", [(r"2y & 2x + 2y - 6 \\", r"2y & 2x + 2y - 6y \\")]),
    ("critical-derivation", [("$y = 0$ or $y = 6 - 2x$", "$y = 0$ or $y = 6 - x$")]),
    ("critical-derivation", [("$(0,0)$ and $(6,0)$", "$(0,0)$ and $(6,1)$")]),
    ("critical-points", [(r"$-8.00$ \\", r"$-8$ \\")]),
    ("critical-points", [("  $(6,0)$ & $0$ & $6$ & $12$ & $-36.00$ & $-2.49,\\ 14.49$ & saddle point & $0.00$ \\\\\n", "")]),
    ("critical-points", [("$f_{xy}$ & $f_{yy}$", "$f_{yy}$ & $f_{xy}$")]),
    ("diagonal", [("2t^3 - 6t^2$", "2t^3 - 6t$")]),
    ("diagonal", [("no global minimum and no global maximum", "no global minimum and a global maximum")]),
    ("statements-1.1", [("such as $2x + 2y - 6y$", "such as $2x + 2y - 6$")]),
    ("statements-1.1", [(r"and $f_{xx} > 0$: local minimum", r"and $f_{xx} > 0$: local maximum")]),
    ("statements-1.1", [("$f$ is unbounded below", "$f$ is unbounded above")]),
    # 1.2
    ("inner-derivatives", [(r"\pd{z}{w} = x$%", r"\pd{z}{w} = 1$%")]),
    ("relu-gradient", [(r"(1, x)^\top & \text{if } b + xw > 0.", r"(1, 1)^\top & \text{if } b + xw > 0.")]),
    ("relu-one-sided", [(r"\varphi'_-(0) = 0$", r"\varphi'_-(0) = 1$")]),
    ("relu-subdifferential", [(r"\alpha\, (1, x)^\top : \alpha", r"\alpha\, (1, 1)^\top : \alpha")]),
    ("relu-subdifferential", [(r"\qquad (b + xw = 0).", r"\qquad (b + xw > 0).")]),
    ("relu-convention", [(r"\ind{b + xw > 0}\,(1, x)^\top", r"\ind{b + xw \ge 0}\,(1, x)^\top")]),
    ("statements-1.2", [("the function $f$ is not differentiable", "the function $f$ is differentiable")]),
    ("statements-1.2", [("Since $f$ is convex in", "Since $f$ is concave in")]),
    ("statements-1.2", [("the linear bound lies above $f$", "the linear bound lies below $f$")]),
    # 1.3 and Appendix A
    ("sketch-answers", [(r"\emph{test error falls} with the training-set size", r"\emph{test error rises} with the training-set size")]),
    ("statements-1.3", [("is at most the training error of", "is at least the training error of")]),
    ("measured-claims", [("never falls from one\nsize to the next", "never rises from one\nsize to the next")]),
    ("best-possible", [("It is a lower bound of the Bayes", "It is an upper bound of the Bayes")]),
    ("text-numbers", [("has a\nstandard error of about 1.6 percentage points", "has a\nstandard error of about 0.6 percentage points")]),
    ("text-numbers", [("each block of 20 epochs", "each block of 10 epochs")]),
    ("measured-claims", [("The training error keeps falling:", "The training error keeps rising:")]),
    ("dashed-line", [("dashed grey: the best possible\n  error (Bayes error).}", "dashed grey: the test error.}")]),
    ("thousands", [("(the 5,000 MNIST digits embedded", "(the 5000 MNIST digits embedded")]),
    # 1.4
    ("1.4", [(r"w\lay{2} = \bigl(\tfrac{\beta_1}{4},\ -\tfrac{\beta_1}{4}\bigr)", r"w\lay{2} = \bigl(\tfrac{\beta_1}{2},\ -\tfrac{\beta_1}{2}\bigr)")]),
    ("1.4", [("$g(z) = z^2$", "$g(z) = z$")]),
    ("1.4", [(r"$b\lay{2} = \beta_0$", r"$b\lay{2} = 0$")]),
    ("linear-g", [("$g(z) = c_1 z + c_0$", "$g(z) = c_1 z^2 + c_0$")]),
    ("linear-g", [(r"unless $\beta_1 = 0$", r"unless $\beta_0 = 0$")]),
    ("statements-1.4", [(r"output weights need $\tfrac{\beta_1}{4}$", r"output weights need $\tfrac{\beta_1}{2}$")]),
    ("symbols", [(r"w_m\lay{2}\, g", r"v_m\, g")]),
    # 1.5
    ("loss", [(r"\pd{L}{f_k} = f_k - y_k", r"\pd{L}{f_k} = y_k - f_k")]),
    ("mean-loss", [(r"\mathcal{L} = \frac1n \sum_{s=1}^{n} L_s", r"\mathcal{L} = \sum_{s=1}^{n} L_s")]),
    ("update", [(r"\bigg|_{\theta(r)}", "")]),
    ("update", [(r"- \eta\, \pd{\mathcal{L}}{w_{ij}\lay{1}}", r"- \eta\, \pd{L}{w_{ij}\lay{1}}")]),
    ("relu-derivative", [(r"$\relu'(a) = \ind{a > 0}$", r"$\relu'(a) = \ind{a \ge 0}$")]),
    ("affine-derivatives", [(r"\pd{a_m\lay{2}}{h_i\lay{1}} = w_{mi}\lay{2}$", r"\pd{a_m\lay{2}}{h_i\lay{1}} = w_{im}\lay{2}$")]),
    ("chain-rule", [(r"(f_k - y_k)\, f_k\,(\ind{k = l} - f_l)." + "\n%@end chain-rule", r"(f_k - y_k)\, f_k\,(1 - f_k)." + "\n%@end chain-rule")]),
    ("deltas", [(r"= \sum_{k=1}^{K} (f_k - y_k)\, f_k\,(\ind{k = l} - f_l)", r"= \sum_{k=1}^{K} (f_k - y_k)\, f_k\,(1 - f_k)")]),
    ("update-one-sample", [(r"- \eta\, \delta_i\lay{1}\, x_j", r"+ \eta\, \delta_i\lay{1}\, x_j")]),
    ("update-mini-batch", [(r"- \frac{\eta}{n} \sum_{s=1}^{n}", r"- \eta \sum_{s=1}^{n}")]),
    ("jacobian", [(r"$J = \diag(f) - f f^\top$", r"$J = \diag(f)$")]),
    ("matrix-form", [(r"\bigl(W\layT{2} \delta\lay{2}\bigr) \odot \ind{a\lay{1} > 0}", r"\bigl(W\layT{2} \delta\lay{2}\bigr)")]),
    ("mini-batch", [(r"= \frac1n \Delta\layT{1} X", r"= \Delta\layT{1} X")]),
    ("statements-1.5", [(r"If $a_i\lay{1} \le 0$", r"If $a_i\lay{1} < 0$")]),
    ("statements-1.5", [(r"gradient \emph{ascent}", r"gradient \emph{descent}")]),
    ("statements-1.5", [(r"(learning rate $\eta > 0$;", r"(learning rate $\eta < 0$;")]),
    ("style", [("terms $-f_kf_l$ change the gradient.", "terms $-f_kf_l$ change the gradient (the tests show the difference).")]),
    # Appendix B
    ("code-deltas", [(r"f \odot u - \langle u, f\rangle\, f", r"f \odot (1 - f) \odot u")]),
    ("statements-B", [(r"returns only the diagonal $f \odot (1 - f)$", r"returns only the diagonal $f \odot f$")]),
    # symbols, rubric, title page
    ("symbols", [(r"(here a matrix, not the problem's single sample $X$) and", "and")]),
    ("symbols", [(r"$g(z) = c_1 z + c_0$", r"$g(z) = c_1 z + d$")]),
    ("mistakes-match-rubric", [(r"\mistake{1.5.wrong_iterate}", "")]),
    ("mistakes-match-rubric", [("(the right end) or at an end of the axis.", "(the right end), at an end of the axis, or chosen with the test set.")]),
    ("rubric-semantics", [("but\nat most its points less", "but\nat least its points less")]),
    ("rubric-semantics", [("found on it, and at least 0.", "found on it, and at least 1.")]),
    ("title-page", [(r"{\large December 2026\par}", r"{\large Team number: \underline{\hspace{1.5cm}}\par}")]),
    ("title-page", [("Carlo Greß  & 216319", "Carlo Gress  & 216319")]),
    ("style", [(r"\cite[Sec.~4.3.4, eq.~(4.106)]{bishop}", r"\cite[Sec.~5.3]{bishop}")]),
]


def mutate(source, edits):
    for old, new in edits:
        if source.count(old) != 1:
            raise ValueError(f"the text to edit must occur exactly once in theory.tex: {old!r} ({source.count(old)} times)")
        source = source.replace(old, new)
    return source
