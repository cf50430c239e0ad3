"""The matching benchmark (O2-O6): how well order-sync ties the orders of one person to one customer.

``stream.generate`` makes a large, messy, multilingual order stream with its ground truth (who
placed each order, which orders no careful matcher can decide); ``score.score`` compares what
the services did with it to that truth. Both are pure Python with no I/O: the runner that
publishes the stream through the real services and collects the outcomes lives elsewhere
(``python -m bench.matching``).
"""
