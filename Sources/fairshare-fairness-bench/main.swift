print("fairness bench: not yet")
