print("edge-scraper")
