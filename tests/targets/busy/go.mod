module fpinspect.test/busy

go 1.19
