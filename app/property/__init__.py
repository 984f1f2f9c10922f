"""Property companies (物业企业) that serve a community, and the staff who act for them."""
