"""Independent brute-force reference implementations for cnncalc tests.

Nothing in this package imports cnncalc or shares its formulas:
geom (literal window sliding), rf (dependency propagation), ops (counting
loops), specgen (hypothesis strategies producing random valid specs).
"""
