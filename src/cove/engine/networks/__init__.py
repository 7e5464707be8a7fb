"""Networks: the network service, endpoints, connect/disconnect, links and the overlay driver."""
