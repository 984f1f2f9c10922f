"""民情收集: the visit log of 三访三问 home visits, 吃茶话事 tea talks and 接待日 reception days, the
things residents said there (items), and the orders staff make of them."""
