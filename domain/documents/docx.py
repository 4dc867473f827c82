"""placeholder"""
def compile_docx(content):
    raise NotImplementedError
