"""Write tests/data/closed_form_references.json: KL of same-family pairs at their edges, by mpmath at 50 digits.

Cases: nearly equal parameters (each parameter moved by a relative 1e-3 ... 1e-12) and
scale ratios from 1e-300 to 1e300. The formulas are the textbook ones, evaluated at 50
digits from the exact float64 parameters klcli sees, so cancellation cannot hide.

Run from the repository root: ``python tests/make_closed_form_references.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import mpmath as mp

mp.mp.dps = 50
OUT = Path(__file__).parent / "data" / "closed_form_references.json"
RELATIVE = [1e-3, 1e-6, 1e-9, 1e-12, -1e-7]
RATIOS = [1e-300, 1e-100, 1e-17, 1e-8, 1e8, 1e100, 1e300]
M = mp.mpf


def _normal(p, q):
    r = M(p["scale"]) / M(q["scale"])
    return (r**2 - 1 - 2 * mp.log(r) + ((M(p["loc"]) - M(q["loc"])) / M(q["scale"])) ** 2) / 2


def _halfnormal(p, q):
    r = M(p["scale"]) / M(q["scale"])
    return (r**2 - 1 - 2 * mp.log(r)) / 2


def _laplace(p, q):
    bp, bq, d = M(p["scale"]), M(q["scale"]), abs(M(p["loc"]) - M(q["loc"]))
    return mp.log(bq / bp) + d / bq + bp / bq * mp.exp(-d / bp) - 1


def _cauchy(p, q):
    sp, sq, d = M(p["scale"]), M(q["scale"]), M(p.get("loc", 0)) - M(q.get("loc", 0))
    return mp.log(((sp + sq) ** 2 + d**2) / (4 * sp * sq))


def _exponential(p, q):
    r = M(q["rate"]) / M(p["rate"])
    return r - 1 - mp.log(r)


def _gamma(p, q):
    ap, bp, aq, bq = M(p["concentration"]), M(p["rate"]), M(q["concentration"]), M(q["rate"])
    return aq * mp.log(bp / bq) + mp.loggamma(aq) - mp.loggamma(ap) + (ap - aq) * mp.digamma(ap) + (bq - bp) * ap / bp


def _chi2(p, q):
    as_gamma = lambda d: {"concentration": M(d["df"]) / 2, "rate": M(1) / 2}  # noqa: E731
    return _gamma(as_gamma(p), as_gamma(q))


def _beta(p, q):
    a1, b1, a2, b2 = M(p["concentration1"]), M(p["concentration0"]), M(q["concentration1"]), M(q["concentration0"])
    log_b = lambda a, b: mp.loggamma(a) + mp.loggamma(b) - mp.loggamma(a + b)  # noqa: E731
    return log_b(a2, b2) - log_b(a1, b1) + (a1 - a2) * mp.digamma(a1) + (b1 - b2) * mp.digamma(b1) + (a2 - a1 + b2 - b1) * mp.digamma(a1 + b1)


def _dirichlet(p, q):
    a, b = [M(x) for x in p["concentration"]], [M(x) for x in q["concentration"]]
    sa, sb = mp.fsum(a), mp.fsum(b)
    return (
        mp.loggamma(sa)
        - mp.loggamma(sb)
        - mp.fsum(mp.loggamma(x) - mp.loggamma(y) for x, y in zip(a, b))
        + mp.fsum((x - y) * (mp.digamma(x) - mp.digamma(sa)) for x, y in zip(a, b))
    )


def _pareto(p, q):
    sp, ap, sq, aq = M(p["scale"]), M(p["alpha"]), M(q["scale"]), M(q["alpha"])
    return aq * mp.log(sp / sq) + mp.log(ap / aq) + aq / ap - 1


def _gumbel(p, q):
    ct1 = M(p["scale"]) / M(q["scale"])
    ct2, ct3 = M(q["loc"]) / M(q["scale"]), M(p["loc"]) / M(q["scale"])
    return -mp.log(ct1) - ct2 + ct3 + ct1 * mp.euler + mp.exp(ct2 + mp.loggamma(1 + ct1) - ct3) - (1 + mp.euler)


def _weibull(p, q):
    k1, l1, k2, l2 = M(p["concentration"]), M(p["scale"]), M(q["concentration"]), M(q["scale"])
    return (
        mp.log(k1 / k2) + k2 * mp.log(l2) - k1 * mp.log(l1) + (k1 - k2) * (mp.log(l1) - mp.euler / k1) + (l1 / l2) ** k2 * mp.gamma(k2 / k1 + 1) - 1
    )


def _two_point(a, b):
    a, b = M(a), M(b)
    out = M(0)
    for x, y in ((a, b), (1 - a, 1 - b)):
        if x > 0:
            out += x * mp.log(x / y)
    return out


def _bernoulli(p, q):
    return _two_point(p["probs"], q["probs"])


def _binomial(p, q):
    return M(p["total_count"]) * _two_point(p["probs"], q["probs"])


def _geometric(p, q):
    return _two_point(p["probs"], q["probs"]) / M(p["probs"])


def _negativebinomial(p, q):
    return M(p["total_count"]) / (1 - M(p["probs"])) * _two_point(p["probs"], q["probs"])


def _poisson(p, q):
    a, b = M(p["rate"]), M(q["rate"])
    return a * mp.log(a / b) - a + b


def _categorical(p, q):
    a, b = [M(x) for x in p["probs"]], [M(x) for x in q["probs"]]
    sa, sb = mp.fsum(a), mp.fsum(b)
    return mp.fsum(x / sa * mp.log((x / sa) / (y / sb)) for x, y in zip(a, b) if x > 0)


def _vonmises(p, q):
    kp, kq, d = M(p["concentration"]), M(q["concentration"]), M(p["loc"]) - M(q["loc"])
    ratio = mp.besseli(1, kp) / mp.besseli(0, kp)
    return ratio * (kp - kq * mp.cos(d)) + mp.log(mp.besseli(0, kq)) - mp.log(mp.besseli(0, kp))


def _mvn(p, q):
    sp, sq = mp.matrix(p["covariance_matrix"]), mp.matrix(q["covariance_matrix"])
    d = mp.matrix(p["loc"]) - mp.matrix(q["loc"])
    inverse = sq**-1
    n = sp.rows
    trace = mp.fsum((inverse * sp)[i, i] for i in range(n))
    return (trace + (d.T * inverse * d)[0, 0] - n + mp.log(mp.det(sq)) - mp.log(mp.det(sp))) / 2


#: family -> (reference, base parameters, parameters that scale, parameters moved for "nearly equal")
FAMILIES = {
    "normal": (_normal, {"loc": 0.3, "scale": 1.7}, ["scale"], ["loc", "scale"]),
    "lognormal": (_normal, {"loc": -0.4, "scale": 0.8}, ["scale"], ["loc", "scale"]),
    "halfnormal": (_halfnormal, {"scale": 2.5}, ["scale"], ["scale"]),
    "laplace": (_laplace, {"loc": 1.0, "scale": 0.6}, ["scale"], ["loc", "scale"]),
    "cauchy": (_cauchy, {"loc": -2.0, "scale": 1.3}, ["scale"], ["loc", "scale"]),
    "halfcauchy": (_cauchy, {"scale": 0.7}, ["scale"], ["scale"]),
    "exponential": (_exponential, {"rate": 2.5}, ["rate"], ["rate"]),
    "gamma": (_gamma, {"concentration": 2.5, "rate": 1.5}, ["rate"], ["concentration", "rate"]),
    "chi2": (_chi2, {"df": 3.0}, ["df"], ["df"]),
    "beta": (_beta, {"concentration1": 2.5, "concentration0": 0.7}, [], ["concentration1", "concentration0"]),
    "pareto": (_pareto, {"scale": 1.0, "alpha": 3.5}, [], ["alpha"]),
    "gumbel": (_gumbel, {"loc": 0.5, "scale": 1.5}, [], ["loc", "scale"]),
    "weibull": (_weibull, {"scale": 1.5, "concentration": 2.2}, ["scale"], ["scale", "concentration"]),
    "bernoulli": (_bernoulli, {"probs": 0.3}, [], ["probs"]),
    "binomial": (_binomial, {"total_count": 20.0, "probs": 0.65}, [], ["probs"]),
    "geometric": (_geometric, {"probs": 0.2}, [], ["probs"]),
    "negativebinomial": (_negativebinomial, {"total_count": 3.5, "probs": 0.4}, [], ["probs"]),
    "poisson": (_poisson, {"rate": 4.5}, ["rate"], ["rate"]),
    "vonmises": (_vonmises, {"loc": 0.5, "concentration": 2.0}, [], ["loc", "concentration"]),
}

#: concentration parameters far from 1 (the lgamma remainder's branches)
EXTRA_BASES = {
    "gamma": [{"concentration": 1e-3, "rate": 1.0}, {"concentration": 0.7, "rate": 1.0}, {"concentration": 3e4, "rate": 2.0}],
    "beta": [{"concentration1": 1e-3, "concentration0": 5e3}, {"concentration1": 40.0, "concentration0": 60.0}],
}


def cases():
    for family, (reference, base, scaled, moved) in FAMILIES.items():
        bases = [base] + EXTRA_BASES.get(family, [])
        for start in bases:
            for key in moved:
                for relative in RELATIVE:
                    other = dict(start)
                    value = start[key] * (1 + relative) if start[key] != 0 else relative
                    if family in ("bernoulli", "binomial", "geometric", "negativebinomial") and not 0 < value < 1:
                        continue
                    other[key] = value
                    yield family, start, other, reference
                    yield family, other, start, reference
        for key in scaled:
            for ratio in RATIOS:
                other = dict(base)
                other[key] = base[key] * ratio
                yield family, base, other, reference
                yield family, other, base, reference
    for a, b in (
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0 * (1 + 1e-9)]),
        ([0.5, 4.0], [0.5 * (1 + 1e-6), 4.0]),
        ([1e-3, 2.0, 7.0], [1e-3 * (1 + 1e-12), 2.0, 7.0]),
    ):
        yield "dirichlet", {"concentration": a}, {"concentration": b}, _dirichlet
        yield "dirichlet", {"concentration": b}, {"concentration": a}, _dirichlet
    base = {"loc": [0.5, -1.0], "covariance_matrix": [[2.0, 0.6], [0.6, 1.0]]}
    for relative in RELATIVE:
        other = {"loc": [0.5, -1.0], "covariance_matrix": [[2.0, 0.6], [0.6, 1.0 * (1 + relative)]]}
        yield "mvn", base, other, _mvn
        yield "mvn", other, base, _mvn
        shifted = {"loc": [0.5 * (1 + relative), -1.0], "covariance_matrix": base["covariance_matrix"]}
        yield "mvn", base, shifted, _mvn
    for ratio in (1e-200, 1e-16, 1e16, 1e200):
        other = {"loc": [0.5, -1.0], "covariance_matrix": [[2.0 * ratio, 0.6 * ratio], [0.6 * ratio, 1.0 * ratio]]}
        yield "mvn", base, other, _mvn
        yield "mvn", other, base, _mvn
    for a, b in (([0.2, 0.3, 0.5], [0.2, 0.3 * (1 + 1e-9), 0.5 - 0.3 * 1e-9]), ([0.25, 0.75], [0.25 + 1e-12, 0.75 - 1e-12])):
        yield "categorical", {"probs": a}, {"probs": b}, _categorical
        yield "categorical", {"probs": b}, {"probs": a}, _categorical


def main() -> None:
    rows = []
    for family, p, q, reference in cases():
        value = reference(p, q)
        rows.append({"family": family, "p": p, "q": q, "kl": mp.nstr(value, 30, strip_zeros=False)})
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"digits": 50, "cases": rows}, indent=0) + "\n")
    print(f"wrote {len(rows)} cases to {OUT}")


if __name__ == "__main__":
    main()
