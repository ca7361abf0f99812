import Metering; print("hi")
