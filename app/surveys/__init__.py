"""物业满意度测评: monthly resident surveys of property companies, their results and the street's flags."""
