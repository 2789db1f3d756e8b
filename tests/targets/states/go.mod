module states

go 1.19
