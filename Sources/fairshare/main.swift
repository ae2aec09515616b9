print("fairshare")
