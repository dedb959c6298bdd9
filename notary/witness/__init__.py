"""A witness (C2SP tlog-witness): a small program run by someone other than the operator.

It keeps the last checkpoint it cosigned for each log it follows, cosigns a new one only when
a consistency proof shows that the new tree extends the old, and keeps any validly signed
checkpoint that contradicts its record as proof that the log forked.
"""
