print("sdt")
