module layout

go 1.19
