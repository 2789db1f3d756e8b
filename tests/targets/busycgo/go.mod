module fpinspect.test/busycgo

go 1.19
