import math

import numpy as np
import pytest

from rigging import quaternion as Q


def random_quaternions(n: int, seed: int = 0) -> np.ndarray:
    return Q.normalize(np.random.default_rng(seed).normal(size=(n, 4)))


def test_matrix_round_trip_for_every_kind_of_rotation() -> None:
    qs = random_quaternions(2000)
    qs = np.concatenate((qs, [[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]]))
    back = Q.from_matrix(Q.to_matrix(qs))
    assert np.max(np.degrees(Q.angle_between(qs, back))) < 1e-4


def test_rotate_matches_matrix_and_product_composes() -> None:
    a, b = random_quaternions(50, 1), random_quaternions(50, 2)
    v = np.random.default_rng(3).normal(size=(50, 3))
    assert np.allclose(Q.rotate(a, v), np.einsum("nij,nj->ni", Q.to_matrix(a), v))
    assert np.allclose(Q.rotate(Q.multiply(a, b), v), Q.rotate(a, Q.rotate(b, v)))


def test_from_two_vectors_is_the_shortest_rotation_even_for_opposites() -> None:
    rng = np.random.default_rng(4)
    a, b = Q.unit(rng.normal(size=(100, 3))), Q.unit(rng.normal(size=(100, 3)))
    q = Q.from_two_vectors(a, b)
    assert np.allclose(Q.rotate(q, a), b, atol=1e-9)
    expected = np.arccos(np.clip(np.sum(a * b, axis=1), -1, 1))
    assert np.allclose(Q.angle(q), expected, atol=1e-7)
    x = np.array([1.0, 0, 0])
    assert np.allclose(Q.rotate(Q.from_two_vectors(x, -x), x), -x)


def test_swing_twist_splits_and_recomposes() -> None:
    qs = random_quaternions(500, 5)
    axis = Q.unit(np.array([0.3, -0.5, 0.8]))
    swing, twist = Q.swing_twist(qs, axis)
    assert np.allclose(np.abs(np.sum(Q.multiply(swing, twist) * qs, axis=1)), 1.0)
    # the twist turns about the axis only; the swing moves the axis and has no part along it
    assert np.allclose(np.cross(twist[:, :3], axis), 0.0, atol=1e-9)
    assert np.allclose(np.sum(swing[:, :3] * axis, axis=1), 0.0, atol=1e-9)


def test_power_and_slerp() -> None:
    q = Q.from_axis_angle(np.array([0.0, 1.0, 0.0]), math.radians(80))
    assert math.degrees(float(Q.angle(Q.power(q, 0.25)))) == pytest.approx(20.0)
    mid = Q.slerp(Q.IDENTITY, q, 0.5)
    assert math.degrees(float(Q.angle(mid))) == pytest.approx(40.0)
    # shortest way round: -q is the same rotation
    assert math.degrees(float(Q.angle(Q.slerp(Q.IDENTITY, -q, 0.5)))) == pytest.approx(40.0)


def test_align_matches_primary_exactly_and_fixes_twist_with_secondary() -> None:
    rng = np.random.default_rng(6)
    r = Q.to_matrix(random_quaternions(1, 7))[0]
    p, s = rng.normal(size=3), rng.normal(size=3)
    m = Q.align(p, s, r @ p, r @ s)
    assert np.allclose(m, r, atol=1e-9)


def test_rotation_between_is_the_shortest_turn_as_a_matrix() -> None:
    rng = np.random.default_rng(8)
    a, b = Q.unit(rng.normal(size=(200, 3))), Q.unit(rng.normal(size=(200, 3)))
    r = Q.rotation_between(a, b)
    assert np.allclose(np.einsum("nij,nj->ni", r, a), b, atol=1e-9)
    assert np.allclose(r @ np.swapaxes(r, 1, 2), np.eye(3), atol=1e-9)
    assert np.allclose(Q.from_matrix(r), Q.from_two_vectors(a, b), atol=1e-9)
    x = np.array([[1.0, 0, 0], [0, 0, 1.0]])
    flipped = Q.rotation_between(x, -x)  # opposite directions: a half turn
    assert np.allclose(np.einsum("nij,nj->ni", flipped, x), -x)
    assert np.allclose(np.linalg.det(flipped), 1.0)
