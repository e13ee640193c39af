"""The formula parser: a whitelist AST walk, never eval."""

from __future__ import annotations

import numpy as np
import pytest

import scalinglaws as sl


def test_formula_matches_numpy():
    law = sl.formula_law("E + A*N**(-alpha)", {"E": (0, 10), "A": (1e-3, 1e6), "alpha": (0, 2)})
    assert law.inputs == ("N",) and law.params == ("E", "A", "alpha")
    assert law.positive_inputs == ("N",)
    N = np.geomspace(1e6, 1e9, 5)
    np.testing.assert_allclose(
        law({"E": 1.5, "A": 300.0, "alpha": 0.3}, {"N": N}), 1.5 + 300 * N**-0.3
    )


def test_functions_and_where():
    law = sl.formula_law(
        "where(x > 1, softplus(a) * log10(x), sigmoid(a) + minimum(x, 0.5) + abs(-x) + tanh(x) + sqrt(x))",
        {"a": (-1, 1)},
    )
    x = np.array([0.25, 4.0])
    a = 0.3
    sp, sg = np.log1p(np.exp(a)), 1 / (1 + np.exp(-a))
    expect = [sg + 0.25 + 0.25 + np.tanh(0.25) + 0.5, sp * np.log10(4.0)]
    np.testing.assert_allclose(law({"a": a}, {"x": x}), expect, rtol=1e-12)


def test_multi_target():
    law = sl.formula_law(["a + x", "a * x"], {"a": (0, 5)}, outputs=("y1", "y2"))
    y = law({"a": 2.0}, {"x": np.array([1.0, 3.0])})
    np.testing.assert_allclose(y, [[3, 2], [5, 6]])


@pytest.mark.parametrize(
    "expr, fragment",
    [
        ("__import__('os').system('echo pwned')", "not allowed"),
        ("a.__class__", "Attribute expressions are not allowed"),
        ("open('x')", "not allowed"),
        ("eval('1')", "not allowed"),
        ("[a for a in x]", "not allowed"),
        ("lambda: 1", "not allowed"),
        ("a if x else 1", "not allowed"),
        ("x[0]", "not allowed"),
        ("'text' + a", "not a number"),
        ("exp(a, x)", "takes 1 argument"),
        ("exp(x=a)", "keyword"),
        ("a +* x", "syntax error"),
        ("exp + a", "used as a value"),
        ("1 < a < 2", "single comparisons"),
    ],
)
def test_unsafe_or_invalid_formulas_are_rejected(expr, fragment):
    with pytest.raises(sl.LawError, match=fragment):
        sl.formula_law(expr, {"a": (0, 1)})


def test_unknown_name_against_declared_inputs():
    with pytest.raises(sl.LawError, match="neither a parameter"):
        sl.formula_law("a * z", {"a": (0, 1)}, inputs=("x",))


def test_bad_bounds():
    with pytest.raises(sl.LawError, match="lo < hi"):
        sl.formula_law("a * x", {"a": (1, 0)})


def test_law_file_errors(tmp_path):
    p = tmp_path / "laws.toml"
    p.write_text(
        'features = ["x"]\n[laws.one]\nparams = ["a"]\nbounds = [[0, 1]]\nformula = "a * x"\n'
        '[laws.two]\nparams = ["a"]\nbounds = [[0, 1]]\nformula = "a + x"\n'
    )
    assert sl.laws_in_file(p) == ["one", "two"]
    assert sl.load_law_file(p, "two")({"a": 0.5}, {"x": np.array([1.0])})[0] == 1.5
    with pytest.raises(sl.LawError, match="pick one"):
        sl.load_law_file(p)
    with pytest.raises(sl.LawError, match="no law 'three'"):
        sl.load_law_file(p, "three")
    (tmp_path / "bad.toml").write_text("laws = [")
    with pytest.raises(sl.LawError, match="not valid TOML"):
        sl.load_law_file(tmp_path / "bad.toml")
