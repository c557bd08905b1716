@main struct CourierCommand { static func main() {} }
